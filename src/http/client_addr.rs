//! The client's address. It is the TCP peer's, unless that peer is a
//! trusted reverse proxy (`--trusted-proxy`): then it is the right-most hop
//! of `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For` that is not
//! itself a trusted proxy. Headers from any other peer are ignored, so a
//! client cannot choose its own address. The per-address limits (live
//! room, write rate) and the request log use this address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

/// The address a request is attributed to (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl TrustedProxies {
    /// Trusts the peers in `nets`; none, and every header is ignored.
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(Arc::new(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer` given the request's headers.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_hops(headers).unwrap_or_else(|| x_forwarded_for_hops(headers));
        // Walk from the proxy next to us towards the client; stop at the
        // first hop we do not trust, or at one we cannot read (an
        // obfuscated or malformed hop: the last trusted one vouches only
        // for that far).
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = canonical(*ip);
                    if !self.trusts(client) {
                        return client;
                    }
                }
                None => return client,
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as a dual-stack socket
/// reports IPv4 peers) compared and counted as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One hop as written in a header: `192.0.2.1`, `192.0.2.1:80`,
/// `[2001:db8::1]`, `[2001:db8::1]:80`, `2001:db8::1`, optionally quoted.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    s.parse::<SocketAddr>().ok().map(|a| a.ip())
}

/// The `for=` hops of every `Forwarded` header, left to right; `None` when
/// there is no such header.
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut any = false;
    for value in headers.get_all("forwarded") {
        any = true;
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let found = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| parse_hop(v))
            });
            hops.push(found.flatten());
        }
    }
    any.then_some(hops)
}

/// The hops of every `X-Forwarded-For` header, left to right.
fn x_forwarded_for_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => s.split(',').map(parse_hop).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// Middleware: attaches the request's [`ClientAddr`] (from the peer the
/// accept loop recorded and, behind trusted proxies, the headers).
pub async fn resolve(proxies: TrustedProxies, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let client = proxies.client_of(peer, req.headers());
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(p.client_of(ip("192.0.2.9"), &h), ip("192.0.2.9"));
        assert_eq!(TrustedProxies::default().client_of(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "2001:db8::/32"]);
        // The client put a fake hop first; the proxies appended the truth.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(p.client_of(ip("10.0.0.2"), &h), ip("198.51.100.7"));
        let h = headers(&[
            ("forwarded", "for=6.6.6.6, for=\"[2001:db8::5]:443\";proto=https"),
            ("forwarded", "for=198.51.100.8:1234"),
        ]);
        assert_eq!(p.client_of(ip("::ffff:10.0.0.2"), &h), ip("198.51.100.8"));
        // Forwarded wins over X-Forwarded-For.
        let h = headers(&[("forwarded", "for=198.51.100.9"), ("x-forwarded-for", "203.0.113.1")]);
        assert_eq!(p.client_of(ip("10.0.0.2"), &h), ip("198.51.100.9"));
    }

    #[test]
    fn unreadable_hops_stop_the_walk_at_the_last_trusted_one() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("forwarded", "for=198.51.100.1, for=_hidden, for=10.2.2.2")]);
        assert_eq!(p.client_of(ip("10.0.0.2"), &h), ip("10.2.2.2"));
        let h = headers(&[("x-forwarded-for", "not-an-address")]);
        assert_eq!(p.client_of(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        // Only trusted hops: the left-most one.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.8.8.8")]);
        assert_eq!(p.client_of(ip("10.0.0.2"), &h), ip("10.9.9.9"));
    }
}
