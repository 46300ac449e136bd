//! Rocker's `image` helper: resolve an image name against the artifacts of earlier builds
//! (`RockerArtifacts` in a `--vars` YAML file, as written by `rocker build --artifacts-path`).
//!
//! Tags that parse as a semver range (`1`, `1.5`, `1.*`, `~1.2`, `>=1.0`, `*`) match artifacts
//! whose tag satisfies the range; other tags must be equal. The first match, in Rocker's order
//! (artifact tags sorted descending as strings), wins: `name@digest` if it has a digest, else
//! `name:tag`. Without a match the normalised input comes back (`debian` -> `debian:latest`),
//! or, with `DemandArtifacts`, an error.
//!
//! Gaps against Rocker's semver library: only single comparators (`1.2`, `~1.2`, `^1.2`,
//! `>=1.2`, `<2`, `1.x`, `*`) and space-separated conjunctions of them are understood;
//! `||` alternatives and hyphen ranges (`1.2 - 1.4`) are treated as plain tags.

use super::value::{kind, list_items, map_get, GoKind};
use minijinja::value::Value;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageName {
    pub registry: String,
    pub name: String,
    pub tag: String,
}

impl ImageName {
    /// Parses `[registry/]name[:tag|@digest]` as Rocker's `imagename.NewFromString`.
    pub fn parse(image: &str) -> ImageName {
        let (name, tag) = split_repository_tag(image);
        ImageName::new(name, tag)
    }

    pub fn new(image: &str, tag: &str) -> ImageName {
        let image = image.strip_prefix("s3:").map(|rest| format!("s3.amazonaws.com/{rest}")).unwrap_or_else(|| image.to_string());
        let (registry, name) = match image.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => (first.to_string(), rest.to_string()),
            _ => (String::new(), image.clone()),
        };
        ImageName { registry, name, tag: tag.to_string() }
    }

    fn get_tag(&self) -> &str {
        if self.tag.is_empty() {
            "latest"
        } else {
            &self.tag
        }
    }

    fn is_same_kind(&self, other: &ImageName) -> bool {
        self.registry == other.registry && self.name == other.name
    }

    fn to_name(&self) -> String {
        let base = if self.registry.is_empty() { self.name.clone() } else { format!("{}/{}", self.registry, self.name) };
        if self.tag.starts_with("sha256:") {
            format!("{base}@{}", self.tag)
        } else {
            format!("{base}:{}", self.get_tag())
        }
    }
}

fn split_repository_tag(repo: &str) -> (&str, &str) {
    if let Some((name, digest)) = repo.split_once('@') {
        return (name, digest.split('@').next().unwrap_or(digest));
    }
    match repo.rfind(':') {
        Some(n) if !repo[n + 1..].contains('/') => (&repo[..n], &repo[n + 1..]),
        _ => (repo, ""),
    }
}

#[derive(Clone, Debug)]
pub struct Artifact {
    pub name: ImageName,
    pub digest: String,
}

#[derive(Clone, Debug, Default)]
pub struct ImageResolver {
    artifacts: Vec<Artifact>,
    demand: bool,
}

impl ImageResolver {
    /// Reads `RockerArtifacts` (a list of maps with `Name` and optional `Digest`) and
    /// `DemandArtifacts` from the template data.
    pub fn from_vars(vars: &Value) -> ImageResolver {
        let mut artifacts = Vec::new();
        if let Some(list) = map_get(vars, "RockerArtifacts").filter(|l| kind(l) == GoKind::List) {
            for item in list_items(&list) {
                if kind(&item) != GoKind::Map {
                    continue;
                }
                let field = |k: &str| map_get(&item, k).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                let name = field("Name");
                if name.is_empty() {
                    continue;
                }
                artifacts.push(Artifact { name: ImageName::parse(&name), digest: field("Digest") });
            }
        }
        // Rocker sorts by tag, descending, so a range matches the newest artifact first.
        artifacts.sort_by(|a, b| b.name.tag.cmp(&a.name.tag));
        let demand = map_get(vars, "DemandArtifacts").is_some_and(|v| kind(&v) == GoKind::Bool && v.is_true());
        ImageResolver { artifacts, demand }
    }

    pub fn resolve(&self, image: &str, tag: Option<&str>) -> Result<String, String> {
        let mut img = match tag {
            Some(t) => ImageName::new(image, t),
            None => ImageName::parse(image),
        };
        let range = Range::parse(&img.tag);
        let mut matched = false;
        for a in &self.artifacts {
            if !img.is_same_kind(&a.name) {
                continue;
            }
            let ok = match &range {
                Some(r) => contains(&img, r, &a.name),
                None => img.get_tag() == a.name.get_tag(),
            };
            if !ok {
                continue;
            }
            if !a.digest.is_empty() {
                img.tag = a.digest.clone();
                matched = true;
                break;
            }
            if !a.name.tag.is_empty() {
                img.tag = a.name.tag.clone();
                matched = true;
                break;
            }
        }
        if self.demand && !matched {
            return Err(format!("Cannot find suitable artifact for image {}", img.to_name()));
        }
        Ok(img.to_name())
    }
}

/// Rocker's `ImageName.Contains` for a requested range and an artifact.
fn contains(img: &ImageName, range: &Range, artifact: &ImageName) -> bool {
    if img.tag.is_empty() || "x*".contains(img.tag.as_str()) {
        return true;
    }
    if range.is_exact() && img.tag == artifact.tag {
        return true;
    }
    match Version::parse(artifact.tag.trim_start_matches('v')) {
        Some(v) => range.satisfied_by(&v),
        None => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Version {
    fn parse(s: &str) -> Option<Version> {
        let core = s.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
        let patch = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
        if parts.next().is_some() {
            return None;
        }
        Some(Version { major, minor, patch })
    }
}

#[derive(Clone, Debug)]
struct Comparator {
    op: &'static str,
    v: Version,
}

/// A conjunction of comparators, each already widened from partial versions.
#[derive(Clone, Debug)]
struct Range {
    comparators: Vec<Comparator>,
    exact: bool,
}

impl Range {
    fn parse(tag: &str) -> Option<Range> {
        let tag = tag.trim();
        if tag.is_empty() {
            return None;
        }
        let mut comparators = Vec::new();
        let mut exact = true;
        for part in tag.split_whitespace() {
            let (op, rest) = ["~>", ">=", "<=", "~", "^", ">", "<", "="].iter().find_map(|op| part.strip_prefix(op).map(|r| (*op, r))).unwrap_or(("", part));
            let rest = rest.trim_start_matches('v');
            let pieces: Vec<&str> = rest.split('.').collect();
            if pieces.is_empty() || pieces.len() > 3 {
                return None;
            }
            let mut nums = Vec::new();
            for p in &pieces {
                if matches!(*p, "*" | "x" | "X") {
                    break;
                }
                nums.push(p.split(['-', '+']).next()?.parse::<u64>().ok()?);
            }
            if pieces.iter().any(|p| matches!(*p, "*" | "x" | "X")) || nums.len() < 3 {
                exact = false;
            }
            let v = Version { major: nums.first().copied().unwrap_or(0), minor: nums.get(1).copied().unwrap_or(0), patch: nums.get(2).copied().unwrap_or(0) };
            let upper = |n: usize| match n {
                0 => None,
                1 => Some(Version { major: v.major + 1, minor: 0, patch: 0 }),
                _ => Some(Version { major: v.major, minor: v.minor + 1, patch: 0 }),
            };
            match op {
                "" | "=" if nums.len() == 3 => comparators.push(Comparator { op: "=", v }),
                "" | "=" => {
                    comparators.push(Comparator { op: ">=", v });
                    if let Some(u) = upper(nums.len()) {
                        comparators.push(Comparator { op: "<", v: u });
                    }
                }
                "~" | "~>" => {
                    exact = false;
                    comparators.push(Comparator { op: ">=", v });
                    if let Some(u) = upper(nums.len().min(2)) {
                        comparators.push(Comparator { op: "<", v: u });
                    }
                }
                "^" => {
                    exact = false;
                    comparators.push(Comparator { op: ">=", v });
                    let u = if v.major > 0 || nums.len() < 2 {
                        Version { major: v.major + 1, minor: 0, patch: 0 }
                    } else if v.minor > 0 || nums.len() < 3 {
                        Version { major: 0, minor: v.minor + 1, patch: 0 }
                    } else {
                        Version { major: 0, minor: 0, patch: v.patch + 1 }
                    };
                    comparators.push(Comparator { op: "<", v: u });
                }
                op => {
                    exact = false;
                    comparators.push(Comparator { op, v });
                }
            }
        }
        Some(Range { comparators, exact })
    }

    fn is_exact(&self) -> bool {
        self.exact
    }

    fn satisfied_by(&self, v: &Version) -> bool {
        self.comparators.iter().all(|c| match c.op {
            "=" => v == &c.v,
            ">=" => v >= &c.v,
            "<=" => v <= &c.v,
            ">" => v > &c.v,
            "<" => v < &c.v,
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn resolver(demand: bool) -> ImageResolver {
        let art = |name: &str, digest: &str| {
            let mut m = BTreeMap::new();
            m.insert("Name".to_string(), Value::from(name));
            m.insert("Digest".to_string(), Value::from(digest));
            Value::from(m)
        };
        let mut vars = BTreeMap::new();
        vars.insert(
            "RockerArtifacts".to_string(),
            Value::from(vec![
                art("alpine:3.2", ""),
                art("golang:1.5", "sha256:ead434"),
                art("data:master", "sha256:fafe14"),
                art("ssh:latest", "sha256:ba41cd"),
            ]),
        );
        vars.insert("DemandArtifacts".to_string(), Value::from(demand));
        ImageResolver::from_vars(&Value::from(vars))
    }

    /// Rocker's own table (template_test.go, TestProcess_Image_Advanced).
    #[test]
    fn rocker_image_table() {
        let table = [
            ("debian:7.7", "debian:7.7", false),
            ("debian:7.*", "debian:7.*", false),
            ("debian", "debian:latest", false),
            ("alpine:3.1", "alpine:3.1", false),
            ("alpine:4.1", "alpine:4.1", false),
            ("alpine:3.*", "alpine:3.2", true),
            ("alpine", "alpine:latest", false),
            ("alpine:latest", "alpine:latest", false),
            ("alpine:snapshot", "alpine:snapshot", false),
            ("golang:1.5", "golang@sha256:ead434", true),
            ("golang:1.*", "golang@sha256:ead434", true),
            ("golang:1", "golang@sha256:ead434", true),
            ("golang:1.4", "golang:1.4", false),
            ("golang:master", "golang:master", false),
            ("data:1.2", "data:1.2", false),
            ("data:snapshot", "data:snapshot", false),
            ("data:master", "data@sha256:fafe14", true),
            ("ssh:latest", "ssh@sha256:ba41cd", true),
            ("ssh", "ssh@sha256:ba41cd", true),
            ("ssh:master", "ssh:master", false),
            ("ssh:1.2", "ssh:1.2", false),
        ];
        let lax = resolver(false);
        let strict = resolver(true);
        for (input, want, matches) in table {
            assert_eq!(lax.resolve(input, None).unwrap(), want, "{input}");
            let demanded = strict.resolve(input, None);
            if matches {
                assert_eq!(demanded.unwrap(), want, "{input}");
            } else {
                assert!(demanded.unwrap_err().contains(&format!("Cannot find suitable artifact for image {want}")), "{input}");
            }
        }
        assert_eq!(lax.resolve("debian", Some("7.7")).unwrap(), "debian:7.7");
        assert_eq!(lax.resolve("debian", Some("sha256:afa")).unwrap(), "debian@sha256:afa");
        assert_eq!(lax.resolve("localhost:5000/app:1", None).unwrap(), "localhost:5000/app:1");
    }
}
