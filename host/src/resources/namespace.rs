//! Resource namespaces as types: `scheme://path/*` parsed into a scheme and whole path
//! segments, and the questions asked of them — does a URI fall inside, does a URI template's
//! literal start, do two namespaces overlap. Never string prefixes.

use std::fmt;

/// A namespace of resource URIs: every URI of `scheme` whose path starts with `segments`.
///
/// Written `"<scheme>://<segment>/.../*"`, e.g. `"notes://*"` or `"file://docs/a/*"`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Namespace {
    /// The URI scheme, lowercase.
    pub scheme: String,
    /// Leading path segments, whole.
    pub segments: Vec<String>,
}

impl Namespace {
    /// Parses `"<scheme>://<path>/*"`.
    ///
    /// # Errors
    /// A message saying what a namespace looks like.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a resource namespace: use \"<scheme>://<path>/*\", e.g. \"notes://*\""
            )
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(bad)?;
        let rest = rest.strip_suffix('*').ok_or_else(bad)?;
        if !scheme_ok(scheme) || !(rest.is_empty() || rest.ends_with('/')) || rest.contains('*') {
            return Err(bad());
        }
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if segments.iter().any(|s| !segment_ok(s)) {
            return Err(bad());
        }
        Ok(Namespace {
            scheme: scheme.to_ascii_lowercase(),
            segments,
        })
    }

    /// Whether `uri` is inside this namespace. A URI with a `.` or `..` segment, an empty
    /// segment inside the prefix, a percent-encoded `.` or `/`, a backslash or a control
    /// character is inside no namespace.
    pub fn contains(&self, uri: &str) -> bool {
        let Some((scheme, path)) = split_uri(uri) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(&self.scheme) {
            return false;
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments.iter().any(|s| !segment_ok(s) && !s.is_empty()) {
            return false;
        }
        // Something must follow the namespace's segments: the namespace itself is no resource.
        segments.len() > self.segments.len()
            && segments[self.segments.len()..]
                .iter()
                .any(|s| !s.is_empty())
            && self
                .segments
                .iter()
                .zip(&segments)
                .all(|(want, have)| want == have)
    }

    /// Whether every URI an RFC 6570 `template` can expand to starts inside this namespace:
    /// its literal text before the first expression must hold the namespace's whole segments.
    pub fn contains_template(&self, template: &str) -> bool {
        let literal = template.split('{').next().unwrap_or_default();
        let Some((scheme, path)) = split_uri(literal) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(&self.scheme) {
            return false;
        }
        // Only segments ended by a `/` are whole; the text after the last `/` may continue.
        let mut whole: Vec<&str> = path.split('/').collect();
        whole.pop();
        if whole.iter().any(|s| !segment_ok(s)) {
            return false;
        }
        whole.len() >= self.segments.len()
            && self
                .segments
                .iter()
                .zip(&whole)
                .all(|(want, have)| want == have)
    }

    /// Whether some URI is inside both namespaces.
    pub fn overlaps(&self, other: &Namespace) -> bool {
        self.scheme == other.scheme
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|(a, b)| a == b)
    }

    /// Whether every URI inside `other` is inside this namespace.
    pub fn covers(&self, other: &Namespace) -> bool {
        self.scheme == other.scheme
            && self.segments.len() <= other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|(a, b)| a == b)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        for segment in &self.segments {
            write!(f, "{segment}/")?;
        }
        f.write_str("*")
    }
}

/// `(scheme, rest)` of `scheme://rest`, when the scheme is well formed.
fn split_uri(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    scheme_ok(scheme).then_some((scheme, rest))
}

/// RFC 3986: a letter, then letters, digits, `+`, `-`, `.`.
fn scheme_ok(scheme: &str) -> bool {
    scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A path segment that names itself: not empty, `.` or `..`, no backslash, control
/// character or percent-encoded `.` or `/`.
fn segment_ok(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment.chars().any(|c| c == '\\' || c.is_control())
        && !lower.contains("%2e")
        && !lower.contains("%2f")
        && !lower.contains("%5c")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(text: &str) -> Namespace {
        Namespace::parse(text).unwrap()
    }

    #[test]
    fn parses_scheme_and_whole_segments() {
        assert_eq!(
            ns("Notes://*"),
            Namespace {
                scheme: "notes".into(),
                segments: vec![]
            }
        );
        assert_eq!(ns("file://docs/a/*").segments, ["docs", "a"]);
        assert_eq!(ns("file://docs/a/*").to_string(), "file://docs/a/*");
        for bad in [
            "*",
            "notes",
            "notes://",
            "notes://a",
            "notes://a*",
            "1x://*",
            "notes://*/*",
            "notes://../*",
            "notes://%2e%2e/*",
        ] {
            assert!(Namespace::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contains_uris_by_segment_not_by_prefix() {
        let docs = ns("file://docs/a/*");
        assert!(docs.contains("file://docs/a/x.md"));
        assert!(docs.contains("FILE://docs/a/b/x.md"));
        assert!(!docs.contains("file://docs/ab/x.md"), "segments are whole");
        assert!(
            !docs.contains("file://docs/a"),
            "the namespace itself is no resource"
        );
        assert!(
            !docs.contains("file://docs/a/../b/x"),
            "dot segments are refused"
        );
        assert!(!docs.contains("file://docs/a/%2e%2e/x"));
        assert!(!docs.contains("file://docs/a/..%2fx"));
        assert!(!docs.contains("http://docs/a/x"));
        assert!(!docs.contains("file:docs/a/x"));
        let notes = ns("notes://*");
        assert!(notes.contains("notes://welcome.md"));
        assert!(!notes.contains("notes://"));
        assert!(!notes.contains("notesx://a"));
    }

    #[test]
    fn templates_must_start_inside() {
        assert!(ns("notes://*").contains_template("notes://{path}"));
        assert!(ns("file://docs/a/*").contains_template("file://docs/a/{name}"));
        assert!(ns("file://docs/a/*").contains_template("file://docs/a/b/{name}.md"));
        assert!(!ns("file://docs/a/*").contains_template("file://docs/{name}"));
        assert!(!ns("file://docs/a/*").contains_template("file://docs/a{name}"));
        assert!(!ns("notes://*").contains_template("{+uri}"));
        assert!(!ns("notes://*").contains_template("other://{id}"));
    }

    #[test]
    fn overlap_and_cover() {
        assert!(ns("notes://*").overlaps(&ns("notes://a/*")));
        assert!(ns("notes://a/*").overlaps(&ns("notes://*")));
        assert!(!ns("notes://a/*").overlaps(&ns("notes://b/*")));
        assert!(!ns("notes://*").overlaps(&ns("files://*")));
        assert!(ns("notes://*").covers(&ns("notes://a/*")));
        assert!(!ns("notes://a/*").covers(&ns("notes://*")));
    }
}
