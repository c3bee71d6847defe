package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// guardLoopback replaces http.DefaultTransport (the one `models pull` uses)
// with one that dials loopback addresses only, with no proxy; it returns
// the refused addresses, which TestMain turns into a failed run even where
// a test only expected some error.
func guardLoopback() func() []string {
	var mu sync.Mutex
	var refused []string
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			mu.Lock()
			refused = append(refused, addr)
			mu.Unlock()
			return nil, fmt.Errorf("test guard: refusing to dial %s (tests stay on the loopback)", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	http.DefaultTransport = tr
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return refused
	}
}
