// SPDX-License-Identifier: MIT
// A net/http server with a known idle timeout: "ok" for every request.
//   go_idle_server ADDR IDLE_SECONDS
// Only the standard library: built by tests/integration/probe_catalog.sh.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	idle, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s := &http.Server{
		Addr:        os.Args[1],
		IdleTimeout: time.Duration(idle) * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("ok\n"))
		}),
	}
	if err := s.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
