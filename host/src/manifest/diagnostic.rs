//! Manifest errors that name the file, line, column and key, and say how to fix the problem.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Where something is in the manifest: a position and the dotted key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The dotted key, e.g. `components.echo.sha256`.
    pub key: String,
}

/// A value from the manifest together with where it was written.
#[derive(Clone, Debug)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub at: Location,
}

/// One problem with the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The manifest file.
    pub file: PathBuf,
    /// Where in it.
    pub at: Location,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Diagnostic {
    /// A problem at `at` in `file`.
    pub fn new(
        file: &Path,
        at: &Location,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            at: at.clone(),
            message: message.into(),
            help: help.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: ",
            self.file.display(),
            self.at.line,
            self.at.column
        )?;
        if !self.at.key.is_empty() {
            write!(f, "`{}`: ", self.at.key)?;
        }
        write!(f, "{}\n  help: {}", self.message, self.help)
    }
}

/// Every problem found in a manifest, reported together.
#[derive(Debug, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Orders the problems by position in the file.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            (&a.file, a.at.line, a.at.column).cmp(&(&b.file, b.at.line, b.at.column))
        });
        self
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        writeln!(
            f,
            "{count} problem{} in the manifest:",
            if count == 1 { "" } else { "s" }
        )?;
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// The manifest text and where each key was written, to turn key paths into positions.
#[derive(Clone, Debug)]
pub struct SourceMap {
    /// The manifest file.
    pub file: PathBuf,
    text: String,
    keys: BTreeMap<Vec<String>, Range<usize>>,
}

impl SourceMap {
    /// Wraps the text read from `file`, with the span of every key (see [`SourceMap::key_spans`]).
    pub fn new(file: PathBuf, text: String, keys: BTreeMap<Vec<String>, Range<usize>>) -> Self {
        SourceMap { file, text, keys }
    }

    /// The manifest text.
    pub fn text_ref(&self) -> &str {
        &self.text
    }

    /// The span of every key of a parsed document, by key path.
    pub fn key_spans(table: &toml::de::DeTable<'_>) -> BTreeMap<Vec<String>, Range<usize>> {
        fn walk(
            table: &toml::de::DeTable<'_>,
            path: &mut Vec<String>,
            out: &mut BTreeMap<Vec<String>, Range<usize>>,
        ) {
            for (key, value) in table {
                path.push(key.get_ref().to_string());
                out.insert(path.clone(), key.span());
                if let toml::de::DeValue::Table(inner) = value.get_ref() {
                    walk(inner, path, out);
                }
                path.pop();
            }
        }
        let mut out = BTreeMap::new();
        walk(table, &mut Vec::new(), &mut out);
        out
    }

    /// The location of byte range `span`, labelled with `key`.
    pub fn locate_span(&self, span: Range<usize>, key: impl Into<String>) -> Location {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            line,
            column,
            key: key.into(),
        }
    }

    /// The location of byte offset `offset`, labelled with the last key written before it.
    pub fn locate_offset(&self, offset: usize) -> Location {
        let key = self
            .keys
            .iter()
            .filter(|(_, span)| span.start <= offset)
            .max_by_key(|(_, span)| span.start)
            .map(|(path, _)| dotted(path))
            .unwrap_or_default();
        self.locate_span(offset..offset, key)
    }

    /// The location of the key at `path`; a key that is not written (a missing one) is
    /// located at its nearest written parent, and at the top of the file when there is none.
    pub fn locate<S: AsRef<str>>(&self, path: &[S]) -> Location {
        let path: Vec<String> = path.iter().map(|s| s.as_ref().to_string()).collect();
        let span = (0..=path.len())
            .rev()
            .find_map(|n| self.keys.get(&path[..n]).cloned())
            .unwrap_or(0..0);
        self.locate_span(span, dotted(&path))
    }

    /// A diagnostic at the key `path`.
    pub fn diagnostic<S: AsRef<str>>(
        &self,
        path: &[S],
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(&self.file, &self.locate(path), message, help)
    }
}

/// Joins a key path with dots, quoting keys that are not bare TOML keys.
pub fn dotted<S: AsRef<str>>(path: &[S]) -> String {
    path.iter()
        .map(|key| {
            let key = key.as_ref();
            let bare = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if bare {
                key.to_string()
            } else {
                format!("{key:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "a = 1\n[b]\n  c = 2\n";
        let table = toml::de::DeTable::parse(text).unwrap();
        let map = SourceMap::new(
            "m.toml".into(),
            text.into(),
            SourceMap::key_spans(table.get_ref()),
        );
        assert_eq!(map.locate(&["a"]).line, 1);
        let c = map.locate(&["b", "c"]);
        assert_eq!((c.line, c.column, c.key.as_str()), (3, 3, "b.c"));
        let missing = map.locate(&["b", "d"]);
        assert_eq!((missing.line, missing.key.as_str()), (2, "b.d"));
        let shown = map.diagnostic(&["b", "c"], "bad", "fix it").to_string();
        assert_eq!(shown, "m.toml:3:3: `b.c`: bad\n  help: fix it");
        assert_eq!(dotted(&["tools", "ops.count"]), "tools.\"ops.count\"");
    }
}
