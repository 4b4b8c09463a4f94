//! The network addresses a webhook delivery may go to: public ones only.
//! An endpoint that could name an address inside our own network (a private
//! range, the cloud's metadata service, this machine) would let anyone
//! holding an API key make the service knock on doors there.
//!
//! Hosts are read as URL parsers read them (browsers, the WHATWG URL
//! standard): `2130706433`, `0x7f.1` and `0177.0.0.1` all name 127.0.0.1, so
//! they are addresses too, checked like the dotted form.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Invalid;

/// Why an address is never delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockedRange {
    /// This machine: only reached on a developer's machine.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7 (and the old site-local fec0::/10).
    Private,
    /// 169.254/16 and fe80::/10, where the cloud's metadata service answers
    /// (169.254.169.254, fd00:ec2::254).
    LinkLocal,
    /// 100.64/10, carrier-grade NAT: someone's private network.
    SharedAddressSpace,
    Multicast,
    /// 0/8 and `::`: "this host" on many systems.
    Unspecified,
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// `::ffff:a.b.c.d`: an IPv4 address in IPv6 clothes, a way round every
    /// IPv4 rule; a real receiver has its own IPv4 or IPv6 address.
    Ipv4Mapped,
    /// Set aside for protocols or the future (240/4, benchmarking, IETF
    /// assignments, the old IPv4-compatible form): no receiver lives there.
    Reserved,
}

impl BlockedRange {
    /// As an operator reads it: "the url's host is …".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address (this machine)",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address (where metadata services answer)",
            Self::SharedAddressSpace => "a carrier-grade NAT address (100.64.0.0/10)",
            Self::Multicast => "a multicast address",
            Self::Unspecified => "an unspecified address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "an address reserved for documentation",
            Self::Ipv4Mapped => "an IPv4-mapped IPv6 address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// Where `ip` stands, if a delivery may not go there. `local`: the service
/// runs on a developer's machine, where receivers listen on loopback; no
/// other range opens there.
pub fn blocked(ip: IpAddr, local: bool) -> Option<BlockedRange> {
    let range = match ip {
        IpAddr::V4(v4) => ipv4_range(v4),
        IpAddr::V6(v6) => ipv6_range(v6),
    };
    range.filter(|r| !(local && *r == BlockedRange::Loopback))
}

fn ipv4_range(ip: Ipv4Addr) -> Option<BlockedRange> {
    use BlockedRange::*;
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (0, ..) => Unspecified,
        (10, ..) => Private,
        (100, 64..=127, _) => SharedAddressSpace,
        (127, ..) => Loopback,
        (169, 254, _) => LinkLocal,
        (172, 16..=31, _) => Private,
        (192, 0, 0) | (192, 88, 99) => Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Documentation,
        (192, 168, _) => Private,
        (198, 18..=19, _) => Reserved,
        (224..=239, ..) => Multicast,
        _ if ip == Ipv4Addr::BROADCAST => Broadcast,
        (240..=255, ..) => Reserved,
        _ => return None,
    };
    Some(range)
}

fn ipv6_range(ip: Ipv6Addr) -> Option<BlockedRange> {
    use BlockedRange::*;
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let range = match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => Loopback,
        [0, 0, 0, 0, 0, 0xffff, _, _] => Ipv4Mapped,
        [0, 0, 0, 0, 0, 0, _, _] => Reserved,
        // NAT64: a DNS64 resolver answers so for hosts that only have IPv4,
        // and the network's gateway connects to the IPv4 address inside.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return ipv4_range(embedded_v4(hi, lo)),
        [0x64, 0xff9b, 1, ..] => Private,
        [0x100, 0, 0, 0, ..] => Reserved,
        [0x2001, 0xdb8, ..] => Documentation,
        [0x2001, b, ..] if b < 0x200 => Reserved,
        // 6to4: the IPv4 address that carries the traffic.
        [0x2002, hi, lo, ..] => return ipv4_range(embedded_v4(hi, lo)),
        [0x3fff, b, ..] if b < 0x1000 => Documentation,
        [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => LinkLocal,
        [a, ..] if a & 0xfe00 == 0xfc00 => Private,
        [a, ..] if a & 0xffc0 == 0xfe80 => LinkLocal,
        [a, ..] if a & 0xffc0 == 0xfec0 => Private,
        [a, ..] if a & 0xff00 == 0xff00 => Multicast,
        _ => return None,
    };
    Some(range)
}

/// The address a URL's host names, if it is one: a bracketed IPv6 address,
/// or an IPv4 address in any spelling URL parsers take (dotted, one
/// number, two or three parts, octal with a leading `0`, hex with `0x`, a
/// trailing dot). A host whose last label is a number but that is no
/// address (`1.2.3.4.5`, `example.0x10`, `256.1.1.1`) is refused: parsers
/// refuse it too, and a resolver might not.
pub fn ip_literal(host: &str) -> Result<Option<IpAddr>, Invalid> {
    if let Some(inner) = host.strip_prefix('[') {
        return inner
            .strip_suffix(']')
            .and_then(|v6| v6.parse::<Ipv6Addr>().ok())
            .map(|v6| Some(IpAddr::V6(v6)))
            .ok_or_else(|| Invalid::new("url's host is not an IPv6 address in brackets"));
    }
    if !ends_in_a_number(host) {
        return Ok(None);
    }
    ipv4(host)
        .map(|v4| Some(IpAddr::V4(v4)))
        .ok_or_else(|| Invalid::new("url's host ends in a number but is not an IPv4 address"))
}

/// The labels of a host, without the empty one a trailing dot leaves.
fn labels(host: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// Whether URL parsers read `host` as an IPv4 address: its last label is
/// digits, or a number in the forms they take (`0x1f`, `0x`).
fn ends_in_a_number(host: &str) -> bool {
    labels(host).last().is_some_and(|last| {
        (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
            || ipv4_number(last).is_some()
    })
}

/// `host` as URL parsers read an IPv4 address: up to four numbers, each
/// part but the last one byte, the last filling the bytes left.
fn ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts = labels(host);
    if parts.len() > 4 {
        return None;
    }
    let numbers = parts
        .iter()
        .map(|p| ipv4_number(p))
        .collect::<Option<Vec<u64>>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|n| *n > 255) {
        return None;
    }
    let room = 8 * (5 - numbers.len() as u32);
    if *last >= 1u64 << room {
        return None;
    }
    let address = leading
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, n)| acc + (n << (8 * (3 - i as u32))));
    u32::try_from(address).ok().map(Ipv4Addr::from)
}

/// One part of an IPv4 address: decimal, octal with a leading `0`, hex
/// with `0x` (`0x` alone is 0). None when it is not a number, or beyond
/// any address.
fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Anything longer than an address is no address (and would overflow).
    let significant = digits.trim_start_matches('0');
    if significant.len() > 12 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().expect("v4"))
    }

    #[test]
    fn every_ipv4_spelling_parsers_take_is_read_as_its_address() {
        for (host, address) in [
            ("10.0.0.5", "10.0.0.5"),
            ("2130706433", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("012.0.0.1", "10.0.0.1"),
            ("0x7f.0.0.1", "127.0.0.1"),
            ("0X7F.0.0.1", "127.0.0.1"),
            ("0x7f000001", "127.0.0.1"),
            ("10.1", "10.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("169.254.43518", "169.254.169.254"),
            ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
            ("0", "0.0.0.0"),
            ("0x", "0.0.0.0"),
            ("127.0.0.1.", "127.0.0.1"),
            ("00000000000000000000000000010.1", "8.0.0.1"),
            ("8.8.8.8", "8.8.8.8"),
            ("4294967295", "255.255.255.255"),
        ] {
            assert_eq!(ip_literal(host), Ok(Some(v4(address))), "{host}");
        }
    }

    #[test]
    fn bracketed_ipv6_is_read_as_its_address() {
        for (host, address) in [
            ("[::1]", "::1"),
            ("[fd00:ec2::254]", "fd00:ec2::254"),
            ("[::ffff:10.0.0.1]", "::ffff:10.0.0.1"),
            ("[::ffff:a00:1]", "::ffff:10.0.0.1"),
            ("[2606:4700::1111]", "2606:4700::1111"),
        ] {
            let expected: Ipv6Addr = address.parse().expect("v6");
            assert_eq!(ip_literal(host), Ok(Some(IpAddr::V6(expected))), "{host}");
        }
        assert!(ip_literal("[abB]").is_err());
        assert!(ip_literal("[::1").is_err());
    }

    #[test]
    fn names_are_names_and_numeric_lookalikes_are_refused() {
        for name in [
            "example.com",
            "hooks.example.com.",
            "0x7f.example.com",
            "localhost",
            "1.2.3.4.example",
            "0xz",
            "a",
        ] {
            assert_eq!(ip_literal(name), Ok(None), "{name}");
        }
        for bad in [
            "1.2.3.4.5",
            "256.1.1.1",
            "1.256.1.1",
            "1.2.65536",
            "4294967296",
            "example.0x10",
            "example.123",
            "08.1.1.1",
            "0x1g.1",
            "1..1",
            "999999999999999999999999",
        ] {
            assert!(ip_literal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_range_inside_networks_is_blocked() {
        use BlockedRange::*;
        let cases: &[(&str, BlockedRange)] = &[
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("::1", Loopback),
            ("10.0.0.5", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("fc00::1", Private),
            ("fdff::1", Private),
            ("fec0::1", Private),
            ("64:ff9b:1::1", Private),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("fd00:ec2::254", LinkLocal),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("255.255.255.255", Broadcast),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.1", Documentation),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("3fff:fff::1", Documentation),
            ("::ffff:10.0.0.1", Ipv4Mapped),
            ("::ffff:8.8.8.8", Ipv4Mapped),
            ("::ffff:127.0.0.1", Ipv4Mapped),
            ("::10.0.0.1", Reserved),
            ("240.0.0.1", Reserved),
            ("198.18.0.1", Reserved),
            ("2001::1", Reserved),
        ];
        for &(address, range) in cases {
            let ip: IpAddr = address.parse().expect(address);
            assert_eq!(blocked(ip, false), Some(range), "{address}");
            let locally = (range != Loopback).then_some(range);
            assert_eq!(blocked(ip, true), locally, "{address} locally");
        }
    }

    #[test]
    fn addresses_inside_nat64_and_6to4_are_judged_by_their_ipv4_address() {
        let ip = |s: &str| s.parse::<IpAddr>().expect(s);
        assert_eq!(
            blocked(ip("64:ff9b::a9fe:a9fe"), true),
            Some(BlockedRange::LinkLocal)
        );
        assert_eq!(blocked(ip("64:ff9b::808:808"), false), None);
        assert_eq!(
            blocked(ip("2002:a00:1::1"), false),
            Some(BlockedRange::Private)
        );
        assert_eq!(blocked(ip("2002:808:808::1"), false), None);
    }

    #[test]
    fn public_addresses_pass() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "2001:200::1",
            "3fff:1000::1",
        ] {
            let ip: IpAddr = address.parse().expect(address);
            assert_eq!(blocked(ip, false), None, "{address}");
        }
    }
}
