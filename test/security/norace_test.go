//go:build !race

package security_test

const raceBuild = false
