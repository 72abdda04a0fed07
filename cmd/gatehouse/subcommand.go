package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse/server"
)

// The operator's subcommands that touch data (app, api-key, webhook,
// keys) share these: the choice of the subcommand, the flags and the
// opening of the data, the refusal of a missing flag, and JSON on
// standard output.

// subcommand is one verb of a command, such as create of "app create".
type subcommand struct {
	name string
	run  func(ctx context.Context, env environment, args []string) error
}

// dispatch runs the subcommand args[0] of the command noun.
func dispatch(ctx context.Context, env environment, noun string, args []string, subs ...subcommand) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		if len(args) > 0 && args[0] == s.name {
			return s.run(ctx, env, args[1:])
		}
		names[i] = s.name
	}
	list := names[len(names)-1]
	if len(names) > 1 {
		list = strings.Join(names[:len(names)-1], ", ") + " or " + list
	}
	return usageError{fmt.Sprintf("%q needs a subcommand: %s", noun, list)}
}

// dataCommand is a subcommand that works on the data: name as usage
// shows it ("app create"), flags beside the data flags, check refusing
// what the flags lack (a usage error), and run with the data open. A
// refusal of the service run returns is explained for the terminal.
type dataCommand struct {
	name  string
	flags func(fs *flag.FlagSet, o *options)
	check func(fs *flag.FlagSet) error
	run   func(a *server.App) error
}

func (c dataCommand) exec(ctx context.Context, env environment, args []string) error {
	var o options
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	if c.flags != nil {
		c.flags(fs, &o)
	}
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if c.check != nil {
		if err := c.check(fs); err != nil {
			return err
		}
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := c.run(a); err != nil {
		return explain(err)
	}
	return nil
}

// need refuses an empty required flag.
func need(command, name, value string) error {
	if value == "" {
		return usageError{fmt.Sprintf("%s needs --%s", command, name)}
	}
	return nil
}

// printJSON prints v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// printJSONLines prints each of list as one line of JSON, as show says.
func printJSONLines[T any](w io.Writer, list []T, show func(T) any) error {
	enc := json.NewEncoder(w)
	for _, x := range list {
		if err := enc.Encode(show(x)); err != nil {
			return err
		}
	}
	return nil
}

// listFlag collects a flag given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
