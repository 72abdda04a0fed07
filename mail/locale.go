package mail

import (
	"fmt"
	"time"
)

// locale is what templates cannot say by themselves in a language: dates,
// durations with their plurals, and the name of the server operator. Go's
// time formatting knows only English month names.
type locale struct {
	months   [12]string
	datetime func(day int, month string, year int, clock string) string
	units    [3][2]string // minute, hour, day: singular and plural
	operator string       // who did it when Data.Actor is empty
}

// locales has one entry per folder under templates/.
var locales = map[string]locale{
	"en": {
		months: [12]string{"January", "February", "March", "April", "May", "June",
			"July", "August", "September", "October", "November", "December"},
		datetime: func(d int, m string, y int, clock string) string {
			return fmt.Sprintf("%d %s %d, %s UTC", d, m, y, clock)
		},
		units:    [3][2]string{{"minute", "minutes"}, {"hour", "hours"}, {"day", "days"}},
		operator: "a server operator",
	},
	"id": {
		months: [12]string{"Januari", "Februari", "Maret", "April", "Mei", "Juni",
			"Juli", "Agustus", "September", "Oktober", "November", "Desember"},
		datetime: func(d int, m string, y int, clock string) string {
			return fmt.Sprintf("%d %s %d pukul %s UTC", d, m, y, dotted(clock))
		},
		// Indonesian does not inflect nouns after a number.
		units:    [3][2]string{{"menit", "menit"}, {"jam", "jam"}, {"hari", "hari"}},
		operator: "operator server",
	},
	"tr": {
		months: [12]string{"Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran",
			"Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık"},
		datetime: func(d int, m string, y int, clock string) string {
			return fmt.Sprintf("%d %s %d, %s UTC", d, m, y, clock)
		},
		// Nor does Turkish.
		units:    [3][2]string{{"dakika", "dakika"}, {"saat", "saat"}, {"gün", "gün"}},
		operator: "bir sistem yöneticisi",
	},
}

// dotted writes 14:05 as 14.05, the Indonesian way.
func dotted(clock string) string { return clock[:2] + "." + clock[3:] }

// funcs are the template functions, bound to the language:
//
//	{{when .At}}              2 January 2026, 14:05 UTC
//	{{duration .ExpiresIn}}   1 hour, 7 days, 30 minutes
//	{{actor .Actor}}          the actor, or the server operator when empty
func (l locale) funcs() map[string]any {
	return map[string]any{
		"when":     l.when,
		"duration": l.duration,
		"actor": func(actor string) string {
			if actor == "" {
				return l.operator
			}
			return actor
		},
	}
}

func (l locale) when(t time.Time) string {
	t = t.UTC()
	return l.datetime(t.Day(), l.months[t.Month()-1], t.Year(), t.Format("15:04"))
}

// duration says d in the largest unit that divides it, rounding seconds
// down, so that a link never seems to last longer than it does.
func (l locale) duration(d time.Duration) string {
	const day = 24 * time.Hour
	unit, size := 0, time.Minute
	switch {
	case d >= day && d%day == 0:
		unit, size = 2, day
	case d >= time.Hour && d%time.Hour == 0:
		unit, size = 1, time.Hour
	}
	n := max(int(d/size), 1)
	if n == 1 {
		return "1 " + l.units[unit][0]
	}
	return fmt.Sprintf("%d %s", n, l.units[unit][1])
}
