// The Go peer of examples/http_server.c for bench/http_compare.sh: package net and a hand-written
// connection loop (not net/http's server, which does far more per request), with the same response
// bytes and the same parsing rules (examples/http_parse.c ported: CRLF lines, 8 KiB head limit ->
// 431, garbage -> 400 as soon as it is seen, Content-Length bodies discarded up to 1 MiB -> 413,
// Transfer-Encoding -> 501, pipelined requests answered in order, keep-alive as HTTP/1.1 says).
// A goroutine per connection; run with GOMAXPROCS=2. No idle deadline (nor has the C server in
// the benchmark).
//
// Usage: go-http [-port N]; prints "listening on 127.0.0.1:PORT".
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

const (
	headerLimit = 8192
	bodyLimit   = 1 << 20
	outCap      = 16384
	responseMax = 512
)

var helloBody = []byte("Hello, World!\n")
var hello = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, World!\n")

type request struct {
	headLen                     int
	methodEnd, targetS, targetE int
	minor                       int
	contentLength               uint64
	keepAlive                   bool
}

func isTchar(c byte) bool {
	if (c|0x20) >= 'a' && (c|0x20) <= 'z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// scanRequestLine: 1 complete, 0 a valid prefix so far, -1 garbage.
func scanRequestLine(p []byte, r *request, lineLen *int) int {
	n := len(p)
	i := 0
	for i < n && isTchar(p[i]) {
		i++
	}
	if i > 32 {
		return -1
	}
	if i == n {
		return 0
	}
	if p[i] != ' ' || i == 0 {
		return -1
	}
	r.methodEnd = i
	i++
	t := i
	for i < n && p[i] > 0x20 && p[i] != 0x7f {
		i++
	}
	if i == n {
		return 0
	}
	if p[i] != ' ' || i == t {
		return -1
	}
	r.targetS, r.targetE = t, i
	i++
	for _, v := range []byte("HTTP/1.") {
		if i >= n {
			return 0
		}
		if p[i] != v {
			return -1
		}
		i++
	}
	if i >= n {
		return 0
	}
	if p[i] < '0' || p[i] > '9' {
		return -1
	}
	r.minor = int(p[i] - '0')
	i++
	if i >= n {
		return 0
	}
	if p[i] != '\r' {
		return -1
	}
	i++
	if i >= n {
		return 0
	}
	if p[i] != '\n' {
		return -1
	}
	*lineLen = i + 1
	return 1
}

func trim(v []byte) []byte { return bytes.Trim(v, " \t") }

// parseHead: 0 incomplete, 200 with *r filled, or an error status. Offsets in r are from buf.
func parseHead(buf []byte, r *request) int {
	skip := 0
	for skip < len(buf) && (buf[skip] == '\r' || buf[skip] == '\n') {
		skip++
	}
	p := buf[skip:]
	var lineLen int
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		if scanRequestLine(p, r, &lineLen) < 0 {
			return 400
		}
		if len(buf) >= headerLimit {
			return 431
		}
		return 0
	}
	headLen := skip + end + 4
	if headLen > headerLimit {
		return 431
	}
	if scanRequestLine(p, r, &lineLen) != 1 {
		return 400
	}
	r.methodEnd += skip
	r.targetS += skip
	r.targetE += skip
	r.headLen = headLen
	r.contentLength = 0
	seen, closeOpt, keepOpt, chunked := false, false, false, false
	stop := end + 2
	for q := lineLen; q < stop; {
		le := q + bytes.Index(p[q:stop], []byte("\r\n"))
		nl := 0
		for q+nl < le && isTchar(p[q+nl]) {
			nl++
		}
		if nl == 0 || p[q+nl] != ':' {
			return 400
		}
		name := p[q : q+nl]
		raw := p[q+nl+1 : le]
		for _, c := range raw {
			if !(c == '\t' || (c >= 0x20 && c != 0x7f)) {
				return 400
			}
		}
		v := trim(raw)
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			if len(v) == 0 || len(v) > 18 {
				return 400
			}
			var x uint64
			for _, c := range v {
				if c < '0' || c > '9' {
					return 400
				}
				x = x*10 + uint64(c-'0')
			}
			if seen && x != r.contentLength {
				return 400
			}
			seen = true
			r.contentLength = x
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = true
		case bytes.EqualFold(name, []byte("connection")):
			for _, opt := range bytes.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
				if bytes.EqualFold(opt, []byte("close")) {
					closeOpt = true
				} else if bytes.EqualFold(opt, []byte("keep-alive")) {
					keepOpt = true
				}
			}
		}
		q = le + 2
	}
	if chunked {
		return 501
	}
	if r.contentLength > bodyLimit {
		return 413
	}
	r.keepAlive = !closeOpt && (r.minor >= 1 || keepOpt)
	return 200
}

func reason(status int) string {
	switch status {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 413:
		return "Content Too Large"
	case 431:
		return "Request Header Fields Too Large"
	case 501:
		return "Not Implemented"
	}
	return "Error"
}

func respond(out []byte, status, minor int, keep bool, body []byte, headOnly bool, extra string) []byte {
	if status == 200 && minor >= 1 && keep && !headOnly {
		return append(out, hello...)
	}
	conn := ""
	if !keep {
		conn = "Connection: close\r\n"
	} else if minor == 0 {
		conn = "Connection: keep-alive\r\n"
	}
	out = append(out, fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s%s\r\n",
		status, reason(status), len(body), conn, extra)...)
	if !headOnly {
		out = append(out, body...)
	}
	return out
}

func serve(c net.Conn) {
	defer c.Close()
	in := make([]byte, headerLimit)
	out := make([]byte, 0, outCap)
	inOff, inLen := 0, 0
	var bodyLeft uint64
	closing := false
	for {
		for !closing && len(out)+responseMax <= outCap {
			avail := inLen - inOff
			if bodyLeft > 0 {
				k := avail
				if uint64(k) > bodyLeft {
					k = int(bodyLeft)
				}
				inOff += k
				bodyLeft -= uint64(k)
				if bodyLeft > 0 {
					break
				}
				avail -= k
			}
			if avail == 0 {
				break
			}
			var r request
			st := parseHead(in[inOff:inLen], &r)
			if st == 0 {
				break
			}
			if st != 200 {
				out = respond(out, st, 1, false, []byte(fmt.Sprintf("%d %s\n", st, reason(st))), false, "")
				closing = true
				break
			}
			base := inOff
			inOff += r.headLen
			bodyLeft = r.contentLength
			method := in[base : base+r.methodEnd]
			target := in[base+r.targetS : base+r.targetE]
			get, head := string(method) == "GET", string(method) == "HEAD"
			switch {
			case !get && !head:
				out = respond(out, 405, r.minor, r.keepAlive, []byte("405 Method Not Allowed\n"), false,
					"Allow: GET, HEAD\r\n")
			case len(target) == 1 && target[0] == '/':
				out = respond(out, 200, r.minor, r.keepAlive, helloBody, head, "")
			default:
				out = respond(out, 404, r.minor, r.keepAlive, []byte("404 Not Found\n"), head, "")
			}
			if !r.keepAlive {
				closing = true
			}
		}
		if inOff == inLen {
			inOff, inLen = 0, 0
		} else if inOff > 0 && !closing {
			copy(in, in[inOff:inLen])
			inLen -= inOff
			inOff = 0
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
			continue
		}
		if closing {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
		n, err := c.Read(in[inLen:])
		if n == 0 || err != nil {
			return
		}
		inLen += n
	}
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any)")
	flag.Parse()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-http:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", l.Addr().String())
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-http: accept:", err, "backing off")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c) // Go sets TCP_NODELAY on accepted connections by default
	}
}
