// SPDX-License-Identifier: MIT
// A net/http server whose handler waits for something that never comes.
//   go_block_server ADDR            the handler blocks on a channel only
//   go_block_server ADDR ctx        it also selects on r.Context().Done()
// net/http reads the connection in the background while a handler runs;
// when the client's FIN arrives it cancels r.Context(). A handler that does
// not watch it keeps the connection (CLOSE_WAIT) until it returns.
package main

import (
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	addr := os.Args[1]
	honour := len(os.Args) > 2 && os.Args[2] == "ctx"
	never := make(chan struct{})
	var gone int64
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if honour {
			select {
			case <-never:
			case <-r.Context().Done():
				fmt.Fprintf(os.Stderr, "client gone %d\n", atomic.AddInt64(&gone, 1))
				return
			}
		}
		<-never
	})
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
