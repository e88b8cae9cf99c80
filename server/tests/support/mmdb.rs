//! A tiny MaxMind DB (format 2.0) writer for tests: IPv4 networks mapped to country codes, in
//! the layout GeoLite2-Country uses (`{"country": {"iso_code": ".."}}`), so the server's geo
//! allow-lists are tested against the real reader with a real file.

use std::net::Ipv4Addr;

fn string(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 29);
    out.push(0x40 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn map_header(out: &mut Vec<u8>, entries: usize) {
    out.push(0xe0 | entries as u8);
}

fn uint(out: &mut Vec<u8>, type_code: u8, v: u64) {
    let bytes: Vec<u8> = v
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    if type_code <= 7 {
        out.push((type_code << 5) | bytes.len() as u8);
    } else {
        // Extended type: control byte of type 0, then the type minus 7.
        out.push(bytes.len() as u8);
        out.push(type_code - 7);
    }
    out.extend_from_slice(&bytes);
}

/// The database bytes for `networks` (address, prefix length, ISO country code).
pub fn country_db(networks: &[(Ipv4Addr, u8, &str)]) -> Vec<u8> {
    // Data section: one record per network.
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for (_, _, code) in networks {
        offsets.push(data.len() as u32);
        map_header(&mut data, 1);
        string(&mut data, "country");
        map_header(&mut data, 1);
        string(&mut data, "iso_code");
        string(&mut data, code);
    }
    // Search tree: a binary trie over address bits; leaves point at data.
    #[derive(Clone, Copy)]
    enum Rec {
        Empty,
        Node(u32),
        Data(usize),
    }
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty, Rec::Empty]];
    for (i, (addr, prefix, _)) in networks.iter().enumerate() {
        let bits = u32::from(*addr);
        let mut node = 0usize;
        for depth in 0..*prefix {
            let bit = ((bits >> (31 - depth)) & 1) as usize;
            if depth + 1 == *prefix {
                nodes[node][bit] = Rec::Data(i);
            } else {
                node = match nodes[node][bit] {
                    Rec::Node(n) => n as usize,
                    _ => {
                        nodes.push([Rec::Empty, Rec::Empty]);
                        let n = nodes.len() - 1;
                        nodes[node][bit] = Rec::Node(n as u32);
                        n
                    }
                };
            }
        }
    }
    let count = nodes.len() as u32;
    let mut out = Vec::new();
    for n in &nodes {
        for rec in n {
            let v = match *rec {
                Rec::Empty => count,
                Rec::Node(n) => n,
                Rec::Data(i) => count + 16 + offsets[i],
            };
            out.extend_from_slice(&v.to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
    map_header(&mut out, 9);
    string(&mut out, "node_count");
    uint(&mut out, 6, u64::from(count));
    string(&mut out, "record_size");
    uint(&mut out, 5, 24);
    string(&mut out, "ip_version");
    uint(&mut out, 5, 4);
    string(&mut out, "database_type");
    string(&mut out, "GeoLite2-Country");
    string(&mut out, "languages");
    // An empty array: extended type 11.
    out.push(0x00);
    out.push(11 - 7);
    string(&mut out, "binary_format_major_version");
    uint(&mut out, 5, 2);
    string(&mut out, "binary_format_minor_version");
    uint(&mut out, 5, 0);
    string(&mut out, "build_epoch");
    uint(&mut out, 9, 1_700_000_000);
    string(&mut out, "description");
    map_header(&mut out, 0);
    out
}
