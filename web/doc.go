// Package web serves Gatehouse's HTML pages: login and its steps, forgot
// and reset password, first-run setup and the settings area. Pages work
// without JavaScript (every rule is checked again by package auth, the same
// code the JSON API calls); the small script in static/ only adds live
// feedback. Templates are parsed at start-up from embed; a broken template
// stops the boot.
package web
