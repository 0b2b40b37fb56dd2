//! The Tokio peer of examples/http_server.c for bench/http_compare.sh: the same response bytes and the
//! same parsing rules (examples/http_parse.c ported line for line: CRLF lines, 8 KiB head limit -> 431,
//! garbage -> 400 as soon as it is seen, Content-Length bodies discarded up to 1 MiB -> 413,
//! Transfer-Encoding -> 501, pipelined requests answered in order, keep-alive as HTTP/1.1 says).
//! tokio::net on a multi-thread runtime with --workers worker threads; no idle deadline (the
//! benchmark runs the C server without one too).
//!
//! Usage: tokio-http [--port N] [--workers N]; prints "listening on 127.0.0.1:PORT".
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HEADER_LIMIT: usize = 8192;
const BODY_LIMIT: u64 = 1 << 20;
const OUT_CAP: usize = 16384;
const RESPONSE_MAX: usize = 512;
const HELLO_BODY: &[u8] = b"Hello, World!\n";
const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, World!\n";

struct Req {
    head_len: usize,
    method: (usize, usize),
    target: (usize, usize),
    minor: u8,
    content_length: u64,
    keep_alive: bool,
}

enum Head {
    Incomplete,
    Ok(Req),
    Err(u16),
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Ok(None): a valid prefix so far; Err: garbage; Ok(Some(method end, target start, target end, line length, minor)).
fn scan_request_line(p: &[u8]) -> Result<Option<(usize, usize, usize, usize, u8)>, ()> {
    let n = p.len();
    let mut i = 0;
    while i < n && is_tchar(p[i]) {
        i += 1;
    }
    if i > 32 {
        return Err(());
    }
    if i == n {
        return Ok(None);
    }
    if p[i] != b' ' || i == 0 {
        return Err(());
    }
    let m = i;
    i += 1;
    let t = i;
    while i < n && p[i] > 0x20 && p[i] != 0x7f {
        i += 1;
    }
    if i == n {
        return Ok(None);
    }
    if p[i] != b' ' || i == t {
        return Err(());
    }
    let te = i;
    i += 1;
    for &v in b"HTTP/1." {
        if i >= n {
            return Ok(None);
        }
        if p[i] != v {
            return Err(());
        }
        i += 1;
    }
    if i >= n {
        return Ok(None);
    }
    if !p[i].is_ascii_digit() {
        return Err(());
    }
    let minor = p[i] - b'0';
    i += 1;
    if i >= n {
        return Ok(None);
    }
    if p[i] != b'\r' {
        return Err(());
    }
    i += 1;
    if i >= n {
        return Ok(None);
    }
    if p[i] != b'\n' {
        return Err(());
    }
    Ok(Some((m, t, te, i + 1, minor)))
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + needle.len() <= h.len() {
        match h[i..].iter().position(|&c| c == needle[0]) {
            None => return None,
            Some(k) => {
                i += k;
                if i + needle.len() <= h.len() && &h[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

fn trim(v: &[u8]) -> &[u8] {
    let mut s = 0;
    let mut e = v.len();
    while s < e && (v[s] == b' ' || v[s] == b'\t') {
        s += 1;
    }
    while e > s && (v[e - 1] == b' ' || v[e - 1] == b'\t') {
        e -= 1;
    }
    &v[s..e]
}

fn parse_head(buf: &[u8]) -> Head {
    let mut skip = 0;
    while skip < buf.len() && (buf[skip] == b'\r' || buf[skip] == b'\n') {
        skip += 1;
    }
    let p = &buf[skip..];
    let end = match find(p, b"\r\n\r\n") {
        None => {
            return match scan_request_line(p) {
                Err(_) => Head::Err(400),
                Ok(_) if buf.len() >= HEADER_LIMIT => Head::Err(431),
                Ok(_) => Head::Incomplete,
            }
        }
        Some(e) => e,
    };
    let head_len = skip + end + 4;
    if head_len > HEADER_LIMIT {
        return Head::Err(431);
    }
    let (m, t, te, line_len, minor) = match scan_request_line(p) {
        Ok(Some(x)) => x,
        _ => return Head::Err(400),
    };
    let mut cl: Option<u64> = None;
    let (mut close, mut keep, mut chunked) = (false, false, false);
    let stop = end + 2;
    let mut q = line_len;
    while q < stop {
        let le = q + find(&p[q..stop], b"\r\n").unwrap();
        let mut nl = 0;
        while q + nl < le && is_tchar(p[q + nl]) {
            nl += 1;
        }
        if nl == 0 || p[q + nl] != b':' {
            return Head::Err(400);
        }
        let name = &p[q..q + nl];
        let raw = &p[q + nl + 1..le];
        if raw.iter().any(|&c| !(c == b'\t' || (c >= 0x20 && c != 0x7f))) {
            return Head::Err(400);
        }
        let v = trim(raw);
        if name.eq_ignore_ascii_case(b"content-length") {
            if v.is_empty() || v.len() > 18 || !v.iter().all(|c| c.is_ascii_digit()) {
                return Head::Err(400);
            }
            let x = v.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64);
            if cl.map_or(false, |old| old != x) {
                return Head::Err(400);
            }
            cl = Some(x);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for opt in v.split(|&c| c == b',' || c == b' ' || c == b'\t') {
                if opt.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if opt.eq_ignore_ascii_case(b"keep-alive") {
                    keep = true;
                }
            }
        }
        q = le + 2;
    }
    if chunked {
        return Head::Err(501);
    }
    let content_length = cl.unwrap_or(0);
    if content_length > BODY_LIMIT {
        return Head::Err(413);
    }
    Head::Ok(Req {
        head_len,
        method: (skip, skip + m),
        target: (skip + t, skip + te),
        minor,
        content_length,
        keep_alive: !close && (minor >= 1 || keep),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Error",
    }
}

fn respond(out: &mut Vec<u8>, status: u16, minor: u8, keep: bool, body: &[u8], head_only: bool, extra: &str) {
    if status == 200 && minor >= 1 && keep && !head_only {
        out.extend_from_slice(HELLO);
        return;
    }
    let conn = if !keep {
        "Connection: close\r\n"
    } else if minor == 0 {
        "Connection: keep-alive\r\n"
    } else {
        ""
    };
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}{}\r\n",
            status,
            reason(status),
            body.len(),
            conn,
            extra
        )
        .as_bytes(),
    );
    if !head_only {
        out.extend_from_slice(body);
    }
}

async fn conn(mut s: TcpStream) {
    let mut inb = vec![0u8; HEADER_LIMIT];
    let (mut in_off, mut in_len) = (0usize, 0usize);
    let mut body_left: u64 = 0;
    let mut out: Vec<u8> = Vec::with_capacity(OUT_CAP);
    let mut closing = false;
    loop {
        // Every complete request in the input, in order.
        while !closing && out.len() + RESPONSE_MAX <= OUT_CAP {
            let mut avail = in_len - in_off;
            if body_left > 0 {
                let k = std::cmp::min(avail as u64, body_left) as usize;
                in_off += k;
                body_left -= k as u64;
                if body_left > 0 {
                    break;
                }
                avail -= k;
            }
            if avail == 0 {
                break;
            }
            match parse_head(&inb[in_off..in_len]) {
                Head::Incomplete => break,
                Head::Err(st) => {
                    let body = format!("{} {}\n", st, reason(st));
                    respond(&mut out, st, 1, false, body.as_bytes(), false, "");
                    closing = true;
                }
                Head::Ok(r) => {
                    let base = in_off;
                    in_off += r.head_len;
                    body_left = r.content_length;
                    let method = &inb[base + r.method.0..base + r.method.1];
                    let target = &inb[base + r.target.0..base + r.target.1];
                    let (get, head) = (method == b"GET", method == b"HEAD");
                    if !get && !head {
                        respond(&mut out, 405, r.minor, r.keep_alive, b"405 Method Not Allowed\n", false,
                                "Allow: GET, HEAD\r\n");
                    } else if target == b"/" {
                        respond(&mut out, 200, r.minor, r.keep_alive, HELLO_BODY, head, "");
                    } else {
                        respond(&mut out, 404, r.minor, r.keep_alive, b"404 Not Found\n", head, "");
                    }
                    if !r.keep_alive {
                        closing = true;
                    }
                }
            }
        }
        if in_off == in_len {
            in_off = 0;
            in_len = 0;
        } else if in_off > 0 && !closing {
            inb.copy_within(in_off..in_len, 0);
            in_len -= in_off;
            in_off = 0;
        }
        if !out.is_empty() {
            if s.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
            continue;
        }
        if closing {
            let _ = s.shutdown().await;
            return;
        }
        match s.read(&mut inb[in_len..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => in_len += n,
        }
    }
}

fn main() {
    let mut port: u16 = 0;
    let mut workers: usize = 2;
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--port" => {
                port = args[i + 1].parse().expect("--port N");
                i += 1;
            }
            "--workers" => {
                workers = args[i + 1].parse().expect("--workers N");
                i += 1;
            }
            a => panic!("unknown argument {}", a),
        }
        i += 1;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let l = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        println!("listening on 127.0.0.1:{}", l.local_addr().unwrap().port());
        loop {
            match l.accept().await {
                Ok((s, _)) => {
                    let _ = s.set_nodelay(true);
                    tokio::spawn(conn(s));
                }
                Err(e) => {
                    eprintln!("tokio-http: accept: {}, backing off", e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    });
}
