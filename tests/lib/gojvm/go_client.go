// SPDX-License-Identifier: MIT
// net/http clients on one Transport: G goroutines, R requests each, then the
// process stays (holding its idle pool) until killed.
//   go_client URL G R IDLE_PER_HOST READYFILE
// IDLE_PER_HOST 0 keeps http.DefaultTransport (MaxIdleConnsPerHost 2:
// every response returned while 2 are idle closes its connection from this
// side, so this side keeps the TIME_WAIT); otherwise a clone with that
// MaxIdleConnsPerHost.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := os.Args[1]
	g, _ := strconv.Atoi(os.Args[2])
	r, _ := strconv.Atoi(os.Args[3])
	idle, _ := strconv.Atoi(os.Args[4])
	ready := os.Args[5]
	client := &http.Client{Timeout: 10 * time.Second}
	if idle > 0 {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = idle
		client.Transport = t
	}
	var ok, failed int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < r; j++ {
				resp, err := client.Get(url)
				if err != nil {
					atomic.AddInt64(&failed, 1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				atomic.AddInt64(&ok, 1)
			}
		}()
	}
	wg.Wait()
	e, _ := firstErr.Load().(string)
	msg := fmt.Sprintf("ok=%d failed=%d err=%s\n", ok, failed, e)
	os.WriteFile(ready, []byte(msg), 0644)
	time.Sleep(120 * time.Second)
}
