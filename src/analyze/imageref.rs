//! Docker image references (`registry:5000/team/app:1.2@sha256:...`): validation and the
//! normalisation Docker applies, so `FROM app` finds `TAG app:latest` and a malformed name is a
//! compile error rather than a failing `docker tag` halfway through a build.

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

impl ImageName {
    pub fn parse(s: &str) -> Result<ImageName, String> {
        if s.is_empty() {
            return Err("an image name cannot be empty".into());
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("image names cannot contain {c:?}"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                let (alg, hex) = d.split_once(':').ok_or("a digest looks like `sha256:<hex>`")?;
                if alg.is_empty() || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err("a digest looks like `sha256:<hex>`".into());
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // A tag follows the last `:` that comes after the last `/` (a `:` before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            let ok = tag.len() <= 128
                && tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                return Err(format!("invalid tag `{tag}`: tags use letters, digits, `_`, `.` and `-`, up to 128 characters"));
            }
        }
        if name.is_empty() {
            return Err("the repository name is missing".into());
        }
        if name.len() > 255 {
            return Err("repository names are at most 255 characters".into());
        }
        let mut components: Vec<&str> = name.split('/').collect();
        let explicit_domain = components.len() > 1 && {
            let first = components[0];
            first.contains('.') || first.contains(':') || first == "localhost"
        };
        let domain = if explicit_domain {
            let d = components.remove(0);
            let (host, port) = d.split_once(':').unwrap_or((d, ""));
            let host_ok = !host.is_empty()
                && host.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            if !host_ok || (!port.is_empty() && !port.chars().all(|c| c.is_ascii_digit())) || d.ends_with(':') {
                return Err(format!("invalid registry `{d}`"));
            }
            d.to_string()
        } else {
            "docker.io".to_string()
        };
        for comp in &components {
            if !is_path_component(comp) {
                return Err(if comp.chars().any(|c| c.is_ascii_uppercase()) {
                    format!("repository names must be lowercase (`{comp}`)")
                } else {
                    format!("invalid repository name component `{comp}`")
                });
            }
        }
        let mut path = components.join("/");
        if domain == "docker.io" && components.len() == 1 {
            path = format!("library/{path}");
        }
        Ok(ImageName { original: s.to_string(), domain, path, tag, digest, explicit_domain })
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
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
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
    }

    #[test]
    fn rejects_what_docker_tag_rejects() {
        for bad in ["App", "app:", "app:-x", "a b", "app\nFROM x", "re//po", "-app", "app:$VERSION", "repo@sha256:xyz"] {
            assert!(ImageName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["a", "a_b", "a__b", "a---b", "a.b/c-d:v1.0_x", "127.0.0.1:5000/x", "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"] {
            assert!(ImageName::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }
}
