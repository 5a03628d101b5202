// Command ferretdb starts FerretDB v1 (MongoDB wire protocol on a SQLite or
// PostgreSQL backend) for the test harness, on the loopback address and data
// directory (SQLite) or PostgreSQL URL it is given. Built from the pinned
// module in go.mod; see tests/infra/ferretdb.py.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "data", "directory for the SQLite files")
	scrub := flag.Bool("scrub", false, "zero deleted data and checkpoint the WAL after every commit")
	postgresqlURL := flag.String("postgresql-url", "", "use the postgresql handler on this URL instead of SQLite")
	flag.Parse()

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatalf("data directory %s: %v", *dir, err)
	}

	// With -scrub, erased data leaves no bytes behind in the files, as with the
	// embedded store (ccshared.bus.sqlite_log.open_db): secure_delete zeroes what is
	// deleted, and checkpointing after every commit, with the WAL cut back when it
	// restarts, keeps old page images from lingering in the WAL. It costs every
	// write a checkpoint, so only the tests of erasure ask for it.
	pragmas := ""
	if *scrub {
		pragmas = "?_pragma=secure_delete(on)&_pragma=wal_autocheckpoint(1)&_pragma=journal_size_limit(0)"
	}

	config := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dir + "/" + pragmas,
	}
	if *postgresqlURL != "" {
		if *scrub {
			log.Fatalf("-scrub applies to the SQLite files only")
		}
		config.Handler = "postgresql"
		config.PostgreSQLURL = *postgresqlURL
		config.SQLiteURL = ""
	}

	f, err := ferretdb.New(config)
	if err != nil {
		log.Fatalf("ferretdb: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	log.Printf("ferretdb listening on %s, %s handler", *listen, config.Handler)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatalf("ferretdb: %v", err)
	}
}
