//! Docker image references (`registry:5000/team/app:1.2@sha256:...`): validation with Docker's
//! own grammar (distribution/reference, as `docker tag`, `docker push` and `FROM` apply it
//! through `ParseNormalizedNamed`) and the normalisation Docker applies, so `FROM app` finds
//! `TAG app:latest` and a malformed name is a compile error, with the part to blame, rather than a
//! failing `docker tag` halfway through a build.
//!
//! The grammar, from `reference.go`:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] path-component ['/' path-component]*
//! domain           := domain-name [':' port-number]
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric    := /[a-z0-9]+/
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" hex    (sha256: 64 hex digits, sha384: 96, sha512: 128)
//! ```
//!
//! A first component counts as the domain when it has a `.` or a `:` or is `localhost`; otherwise
//! the name is on Docker Hub, where a one-component name gets `library/`. The whole name, with
//! `docker.io/` (and `library/`) added, is at most 255 bytes. Docker 23 and later also read an
//! IPv6 host (`[::1]:5000`) and a first component with capitals as a registry; the script may run
//! against Docker 20.10, which refuses both, so they are refused here too.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageName {
    /// As written.
    pub original: String,
    /// `docker.io` when none was written.
    pub domain: String,
    /// With `library/` added for single-component Docker Hub names.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// Whether the name as written names a registry (`localhost:5000/x`, `ghcr.io/x`).
    pub explicit_domain: bool,
}

/// An image name as Docker resolves it: equal keys name the same image.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageKey {
    domain: String,
    path: String,
    tag: String,
    digest: Option<String>,
}

/// Why a name is not a valid reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefError {
    pub message: String,
    /// The bytes of the name to blame, when one part is.
    pub at: Option<(usize, usize)>,
    /// A valid name the user probably meant.
    pub suggestion: Option<String>,
}

/// Repositories the generated script itself uses: a TAG or PUSH into them would be taken for the
/// script's own images. `rockerc-cache` holds the MOUNTed-RUN cache (`rc_cache` in
/// `src/emit/runtime.sh`), which a TAG there could poison.
pub const RESERVED_REPOSITORIES: &[&str] = &["rockerc-cache"];

/// Digest algorithms Docker knows, with the length of their hex part.
const DIGESTS: &[(&str, usize)] = &[("sha256", 64), ("sha384", 96), ("sha512", 128)];

const NAME_TOTAL_LENGTH_MAX: usize = 255;

impl ImageName {
    /// A reference as FROM may name it (a digest allowed).
    pub fn parse(s: &str) -> Result<ImageName, String> {
        ImageName::parse_reference(s, true).map_err(|e| e.message)
    }

    /// A reference, checked as Docker checks it; with `digest_allowed` false, as `docker tag` and
    /// `docker push` want a target (a name and a tag, no digest).
    pub fn parse_reference(s: &str, digest_allowed: bool) -> Result<ImageName, RefError> {
        let image = parse_exact(s, digest_allowed).map_err(|mut e| {
            e.suggestion = suggest(s, digest_allowed).filter(|fixed| fixed != s);
            e
        })?;
        Ok(image)
    }

    /// Whether two names denote the same image the way Docker resolves them
    /// (`app` = `app:latest` = `docker.io/library/app:latest`).
    pub fn same_image(&self, other: &ImageName) -> bool {
        self.key() == other.key()
    }

    /// What [`same_image`](Self::same_image) compares, as a value to index images by.
    pub fn key(&self) -> ImageKey {
        let tag = self.tag.as_deref().unwrap_or(if self.digest.is_some() { "" } else { "latest" });
        ImageKey { domain: self.domain.clone(), path: self.path.clone(), tag: tag.to_string(), digest: self.digest.clone() }
    }

    /// The repository the generated script uses itself, if this name is in it.
    pub fn reserved(&self) -> Option<&'static str> {
        RESERVED_REPOSITORIES.iter().copied().find(|r| self.domain == "docker.io" && self.path == format!("library/{r}"))
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

fn error(message: impl Into<String>, at: Option<(usize, usize)>) -> RefError {
    RefError { message: message.into(), at, suggestion: None }
}

fn parse_exact(s: &str, digest_allowed: bool) -> Result<ImageName, RefError> {
    if s.is_empty() {
        return Err(error("an image name cannot be empty", None));
    }
    if let Some((i, c)) = s.char_indices().find(|(_, c)| c.is_whitespace() || c.is_control()) {
        return Err(error(format!("image names cannot contain {c:?}"), Some((i, i + c.len_utf8()))));
    }
    // The digest follows the first `@`.
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => {
            let at = rest.len();
            if !digest_allowed {
                return Err(error("a TAG or PUSH names a tag, not a digest: Docker refuses to tag with one (write `name:tag`)", Some((at, s.len()))));
            }
            check_digest(digest).map_err(|m| error(m, Some((at + 1, s.len()))))?;
            (rest, Some(digest.to_string()))
        }
        None => (s, None),
    };
    // A tag follows the last `:` that comes after the last `/` (a `:` before it is a port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(error("the repository name is missing", Some((0, 1))));
    }
    // Docker 20.10's daemon checks the repository without its tag (`0123…ef:1` is refused there,
    // accepted by Docker 23 and later): refused here whatever the tag.
    if name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(error("a name of 64 hexadecimal digits is an image ID to Docker, not a repository name", Some((0, 64))));
    }
    // `splitDockerDomain`. Docker 23 and later also take a first component with capitals for a
    // registry; Docker 20.10 takes it for a repository name, and refuses it. A name that one of
    // them refuses is refused here.
    let first = name.split('/').next().unwrap_or("");
    let explicit_domain = name.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    let (domain, remainder, path_start) = if explicit_domain {
        // Docker's pattern makes the registry optional: a first component that is not a host name
        // but is a valid path component (`x_y.io`) is read as part of the repository name.
        if let Err(e) = check_domain(first) {
            if !is_path_component(first) {
                return Err(e);
            }
        }
        // Docker's old name for Docker Hub.
        let domain = if first == "index.docker.io" { "docker.io" } else { first };
        (domain.to_string(), &name[first.len() + 1..], first.len() + 1)
    } else {
        ("docker.io".to_string(), name, 0)
    };
    let mut offset = path_start;
    for component in remainder.split('/') {
        let at = Some((offset, offset + component.len()));
        if component.is_empty() {
            return Err(error("a repository name has an empty part (`//`, or `/` at an end)", Some((offset.saturating_sub(1), offset.max(1)))));
        }
        if !is_path_component(component) {
            let lower = component.to_ascii_lowercase();
            return Err(if lower != component && is_path_component(&lower) {
                error(format!("repository names must be lowercase (`{component}`)"), at)
            } else {
                error(
                    format!("invalid repository name component `{component}`: use lowercase letters and digits, separated by `.`, `_`, `__` or dashes, and starting and ending with a letter or digit"),
                    at,
                )
            });
        }
        offset += component.len() + 1;
    }
    if let Some(tag) = tag {
        let at = Some((name.len() + 1, name.len() + 1 + tag.len()));
        if tag.is_empty() {
            return Err(error("the tag after `:` is empty", Some((name.len(), name.len() + 1))));
        }
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if tag.len() > 128 {
            return Err(error(format!("the tag is {} characters long; Docker allows 128", tag.len()), at));
        }
        if !tag.starts_with(word) {
            return Err(error(
                format!("the tag `{tag}` starts with `{}`: a tag starts with a letter, a digit or `_`", tag.chars().next().unwrap_or_default()),
                at,
            ));
        }
        if let Some(c) = tag.chars().find(|&c| !(word(c) || c == '.' || c == '-')) {
            return Err(error(format!("the tag `{tag}` contains `{c}`: tags use letters, digits, `_`, `.` and `-`"), at));
        }
    }
    let mut path = remainder.to_string();
    if domain == "docker.io" && !path.contains('/') {
        path = format!("library/{path}");
    }
    if domain.len() + 1 + path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(error(
            format!("the repository name is {} characters long with its registry; Docker allows {NAME_TOTAL_LENGTH_MAX}", domain.len() + 1 + path.len()),
            None,
        ));
    }
    Ok(ImageName { original: s.to_string(), domain, path, tag: tag.map(str::to_string), digest, explicit_domain })
}

/// `host[:port]`, where host is a domain name or a bracketed IPv6 address.
fn check_domain(domain: &str) -> Result<(), RefError> {
    let whole = Some((0, domain.len()));
    if domain.starts_with('[') {
        return Err(error(
            format!("invalid registry `{domain}`: Docker 20.10 and earlier refuse an IPv6 address as a registry; give the registry a host name"),
            whole,
        ));
    }
    let (host, port) = match domain.find(':') {
        Some(i) => (&domain[..i], &domain[i..]),
        None => (domain, ""),
    };
    {
        let mut offset = 0;
        for part in host.split('.') {
            let at = Some((offset, offset + part.len()));
            if part.is_empty() {
                return Err(error(format!("invalid registry `{domain}`: a host name has an empty part (`..`, or `.` at an end)"), whole));
            }
            if part.starts_with('-') || part.ends_with('-') {
                return Err(error(format!("invalid registry `{domain}`: a part of a host name may not start or end with `-` (`{part}`)"), at));
            }
            if let Some(c) = part.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
                return Err(error(format!("invalid registry `{domain}`: a host name may not contain `{c}`"), at));
            }
            offset += part.len() + 1;
        }
    }
    if !port.is_empty() {
        let digits = &port[1..];
        if !port.starts_with(':') || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(format!("invalid registry `{domain}`: the port after `:` must be a number"), Some((host.len(), domain.len()))));
        }
    }
    Ok(())
}

fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else { return Err("a digest looks like `sha256:<64 hex digits>`".into()) };
    let Some(&(_, len)) = DIGESTS.iter().find(|(a, _)| *a == algorithm) else {
        return Err(format!("unknown digest algorithm `{algorithm}`: Docker knows sha256, sha384 and sha512"));
    };
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(format!("a {algorithm} digest is {len} lowercase hex digits"));
    }
    Ok(())
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
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

/// A valid name close to `s`: lowercase, without dashes at the edges of its parts, with its
/// separators and tag characters made valid. `None` when that does not give a valid name.
fn suggest(s: &str, digest_allowed: bool) -> Option<String> {
    // A blank says something else went wrong (a value a template left out, two names).
    if s.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let s = s.trim_start_matches('-');
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) if digest_allowed => (rest, Some(digest)),
        // Which tag was meant, nobody can say.
        Some(_) => return None,
        None => (s, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let mut parts: Vec<String> = name.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
    let first = parts.first()?.clone();
    let has_domain = parts.len() > 1 && (first.contains(['.', ':']) || first == "localhost");
    if has_domain {
        let (host, port) = match first.split_once(':') {
            Some((h, p)) => (h, format!(":{p}")),
            None => (first.as_str(), String::new()),
        };
        let host: Vec<&str> = host.split('.').map(|p| p.trim_matches('-')).filter(|p| !p.is_empty()).collect();
        parts[0] = format!("{}{port}", host.join("."));
    }
    for part in parts.iter_mut().skip(usize::from(has_domain)) {
        *part = clean_component(part);
    }
    let mut fixed = parts.join("/");
    if let Some(tag) = tag {
        let tag: String = tag.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' }).collect();
        let tag = tag.trim_start_matches(['.', '-']);
        if !tag.is_empty() {
            fixed = format!("{fixed}:{}", &tag[..tag.len().min(128)]);
        }
    }
    if let Some(digest) = digest {
        fixed = format!("{fixed}@{digest}");
    }
    parse_exact(&fixed, digest_allowed).is_ok().then_some(fixed)
}

/// A path component made valid: lowercase, other characters as `-`, separators that are not
/// `.`, `_`, `__` or dashes made a single `-`, and none at the ends.
fn clean_component(part: &str) -> String {
    let lower: String =
        part.chars().map(|c| c.to_ascii_lowercase()).map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    let mut out = String::new();
    let mut sep = String::new();
    for c in lower.chars() {
        if c.is_ascii_alphanumeric() {
            if !sep.is_empty() && !out.is_empty() {
                let ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
                out.push_str(if ok { &sep } else { "-" });
            }
            sep.clear();
            out.push(c);
        } else {
            sep.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let a = ImageName::parse("app").unwrap();
        assert_eq!((a.domain.as_str(), a.path.as_str(), a.tag.as_deref()), ("docker.io", "library/app", None));
        assert!(a.same_image(&ImageName::parse("docker.io/library/app:latest").unwrap()));
        assert!(!a.same_image(&ImageName::parse("app:1").unwrap()));
        let r = ImageName::parse("localhost:5000/team/app:1.2").unwrap();
        assert_eq!((r.domain.as_str(), r.path.as_str(), r.tag.as_deref()), ("localhost:5000", "team/app", Some("1.2")));
        assert!(r.explicit_domain);
        assert!(!ImageName::parse("team/app").unwrap().explicit_domain);
        // Not a host name, but a valid repository name component.
        assert!(ImageName::parse("x_y.io/app").is_ok());
    }

    #[test]
    fn rejects_what_docker_tag_rejects() {
        for bad in [
            "App",
            "app:",
            "app:-x",
            "a b",
            "app\nFROM x",
            "re//po",
            "-app",
            "app:$VERSION",
            "repo@sha256:xyz",
            "x-.io/app:1",
            "-x.io/app",
            "x.-io/app",
            "x..io/app",
            "x.io:/app",
            "x.io:50a/app",
            "app-",
            "a..b",
            "a._b",
            "a___b",
            "team/App",
            "app:1.0+build",
            "app/",
            "/app",
            "x@sha256:0123456789abcdef0123456789abcdef",
            "x@md5:0123456789abcdef0123456789abcdef",
            "[zz]:5000/app",
            "[::1]:5000/app",
            "Registry/app",
        ] {
            assert!(ImageName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}:1", "a".repeat(238));
        assert!(ImageName::parse(&long).is_err(), "docker.io/library/ makes it 256 characters");
        assert!(ImageName::parse(&format!("{}:1", "a".repeat(237))).is_ok());
        for good in [
            "a",
            "a_b",
            "a__b",
            "a---b",
            "a.b/c-d:v1.0_x",
            "127.0.0.1:5000/x",
            "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "my-registry.example.com:443/a/b/c:TAG_1.x-y",
            "localhost/app",
            "X.IO/app",
            "x.io:0/app",
        ] {
            assert!(ImageName::parse(good).is_ok(), "{good:?} should be accepted");
        }
        let tag_with_digest = ImageName::parse_reference("app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false);
        assert!(tag_with_digest.is_err());
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert!(ImageName::parse_reference(id, false).is_err());
    }

    #[test]
    fn points_at_the_part_to_blame_and_suggests_a_valid_name() {
        let e = ImageName::parse_reference("x-.io/app:1", false).unwrap_err();
        assert_eq!((e.at, e.suggestion.as_deref()), (Some((0, 2)), Some("x.io/app:1")));
        let e = ImageName::parse_reference("-x.io/app", false).unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("x.io/app"));
        let e = ImageName::parse_reference("Team/MyApp:1", false).unwrap_err();
        assert_eq!((e.at, e.suggestion.as_deref()), (Some((0, 4)), Some("team/myapp:1")));
        let e = ImageName::parse_reference("myApp:1.0+build", false).unwrap_err();
        assert_eq!((e.at, e.suggestion.as_deref()), (Some((0, 5)), Some("myapp:1.0_build")));
        let e = ImageName::parse_reference("app:1.0+build", false).unwrap_err();
        assert_eq!((e.at, e.suggestion.as_deref()), (Some((4, 13)), Some("app:1.0_build")));
        let e = ImageName::parse_reference("a..b", false).unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("a-b"));
    }

    #[test]
    fn the_scripts_own_repositories_are_reserved() {
        assert_eq!(ImageName::parse("rockerc-cache:x").unwrap().reserved(), Some("rockerc-cache"));
        assert_eq!(ImageName::parse("docker.io/library/rockerc-cache").unwrap().reserved(), Some("rockerc-cache"));
        assert_eq!(ImageName::parse("index.docker.io/rockerc-cache:1").unwrap().reserved(), Some("rockerc-cache"));
        assert_eq!(ImageName::parse("docker.io/rockerc-cache").unwrap().reserved(), Some("rockerc-cache"));
        assert_eq!(ImageName::parse("localhost:5000/rockerc-cache").unwrap().reserved(), None);
        let runtime = include_str!("../emit/runtime.sh");
        for name in RESERVED_REPOSITORIES {
            assert!(runtime.contains(&format!("\"{name}:")), "runtime.sh no longer uses {name}");
        }
    }
}
