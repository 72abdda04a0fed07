package gatehouse

import "testing"

func TestByOperator(t *testing.T) {
	for _, tc := range []struct {
		e    AuditEvent
		want bool
	}{
		{AuditEvent{Detail: DetailOperator}, true},
		{AuditEvent{Detail: DetailOperator + " method=link"}, true},
		{AuditEvent{Detail: "method=temporary"}, false},
		{AuditEvent{Detail: "via=operatorx"}, false},
		{AuditEvent{ActorID: "01J0000000000000000000000A", Detail: DetailOperator}, false},
	} {
		if got := tc.e.ByOperator(); got != tc.want {
			t.Errorf("%+v: ByOperator got %v, want %v", tc.e, got, tc.want)
		}
	}
}
