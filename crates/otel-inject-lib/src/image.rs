//! `service.version` from an image reference, following the grammar of the distribution
//! `reference.Parse` the operator uses: the tag, `tag@digest`, or the digest; nothing for an
//! untagged image, a registry port without tag, or a reference that does not parse.

fn is_path_component(s: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_domain(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.starts_with('[') || h.ends_with(']') => (h, Some(p)),
        _ => (s, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if host.starts_with('[') {
        return host.ends_with(']') && host.len() > 2;
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn is_tag(s: &str) -> bool {
    // [\w][\w.-]{0,127}
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn is_digest(s: &str) -> bool {
    let Some((algo, hex)) = s.split_once(':') else {
        return false;
    };
    let hex_ok = |n: usize| hex.len() == n && hex.bytes().all(|c| c.is_ascii_hexdigit());
    match algo {
        "sha256" => hex_ok(64),
        "sha384" => hex_ok(96),
        "sha512" => hex_ok(128),
        _ => false,
    }
}

/// The version the operator derives from an image reference, or `None`.
pub fn service_version(image: &str) -> Option<String> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        if !is_digest(d) {
            return None;
        }
    }
    // A tag follows the last ':' only when that ':' is after the last '/'.
    let (name, tag) = match rest.rfind(':') {
        Some(i) if rest[i..].find('/').is_none() => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag {
        if !is_tag(t) {
            return None;
        }
    }
    if name.is_empty() || name.len() > 255 {
        return None;
    }
    let mut components: Vec<&str> = name.split('/').collect();
    // A first component that is a valid domain (a registry, maybe with a port) is one; a
    // lowercase one could also be a path component, and then both readings parse.
    if components.len() > 1 && is_domain(components[0]) {
        components.remove(0);
    }
    if !components.iter().all(|c| is_path_component(c)) {
        return None;
    }
    match (tag, digest) {
        (Some(t), Some(d)) => Some(format!("{t}@{d}")),
        (None, Some(d)) => Some(d.to_string()),
        (Some(t), None) => Some(t.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::service_version;
    use rstest::rstest;

    #[rstest]
    #[case::tag("myapp:1.2.3", Some("1.2.3"))]
    #[case::untagged("myapp", None)]
    #[case::registry_port_no_tag("registry:5000/img", None)]
    #[case::registry_port_tag("registry:5000/team/img:v2", Some("v2"))]
    #[case::ghcr("ghcr.io/org/app:main", Some("main"))]
    #[case::digest_only(
        "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        Some("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
    )]
    #[case::tag_and_digest(
        "app:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        Some("1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
    )]
    #[case::uppercase_is_a_parse_error("MyApp:1.0", None)]
    #[case::bad_digest("app@sha256:abc", None)]
    #[case::bad_tag("app:-x", None)]
    fn versions(#[case] image: &str, #[case] want: Option<&str>) {
        assert_eq!(service_version(image).as_deref(), want);
    }
}
