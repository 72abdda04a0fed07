// Package web serves Gatehouse's HTML pages: login and its steps, forgot
// and reset password, first-run setup and the settings area. Pages work
// without JavaScript (every rule is checked again by package auth, the same
// code the JSON API calls); the small script in static/ only adds live
// feedback. Templates come from embed: each page's is checked at start-up,
// where a broken template stops the boot, and parsed on the page's first
// use.
package web
