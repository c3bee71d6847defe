// Package loopback keeps a test binary on the loopback: Guard replaces
// http.DefaultTransport (the one `multisc models pull` uses when no client
// is given) with one that dials loopback addresses only, with no proxy.
// Tests call it from TestMain and fail the run when anything was refused,
// even where a test only expected some error.
package loopback

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Guard installs the loopback-only transport and returns a function that
// lists the addresses refused so far.
func Guard() (refused func() []string) {
	var mu sync.Mutex
	var list []string
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			mu.Lock()
			list = append(list, addr)
			mu.Unlock()
			return nil, fmt.Errorf("test guard: refusing to dial %s (tests stay on the loopback)", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	http.DefaultTransport = tr
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), list...)
	}
}
