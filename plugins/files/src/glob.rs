//! A small glob matcher for `/`-separated relative paths.
//!
//! Written here rather than taken from `globset`: that crate (a regex engine underneath) made
//! this component about 700 KB instead of about 100 KB.
//!
//! Syntax: `*` matches any run of characters within one path component, `?` one character
//! (never `/`); `**` as a whole component matches any number of components (at the end of the
//! pattern, at least one); `[abc]`, `[a-z]` and `[!a-z]` (or `[^a-z]`) match one character of
//! a set; `{md,txt}` matches either alternative (nesting allowed); `\` makes the next character
//! literal. Names starting with `.` are matched like any other.
//!
//! Matching takes time proportional to the pattern's size times the path's, for each brace
//! alternative (at most [`MAX_ALTERNATIVES`]): no exponential backtracking.

/// The most alternatives brace expansion may produce.
pub const MAX_ALTERNATIVES: usize = 256;

/// A compiled glob.
#[derive(Debug)]
pub struct Glob {
    /// One entry per brace alternative, each the pattern's components.
    alternatives: Vec<Vec<Component>>,
}

/// One `/`-separated component of a pattern.
#[derive(Debug, PartialEq)]
enum Component {
    /// `**`: any number of path components.
    AnyDepth,
    /// Anything else: matched against exactly one path component.
    Segment(Vec<Token>),
}

/// What one position of a segment matches.
#[derive(Debug, PartialEq)]
enum Token {
    /// This character.
    Literal(char),
    /// `?`: any one character.
    AnyChar,
    /// `*`: any run of characters.
    AnyRun,
    /// `[..]`: one character in (or, negated, not in) the inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compiles `pattern`.
    ///
    /// # Errors
    ///
    /// An unclosed `[` or `{`, a trailing `\`, or over [`MAX_ALTERNATIVES`] brace alternatives.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let alternatives = expand_braces(pattern)?
            .iter()
            .map(|alternative| {
                alternative
                    .split('/')
                    .map(|component| match component {
                        "**" => Ok(Component::AnyDepth),
                        _ => tokenize(component).map(Component::Segment),
                    })
                    .collect()
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { alternatives })
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub fn is_match(&self, path: &str) -> bool {
        let path: Vec<Vec<char>> = path.split('/').map(|c| c.chars().collect()).collect();
        self.alternatives
            .iter()
            .any(|components| match_components(components, &path))
    }
}

/// Expands `{a,b}` groups (outside `[..]`, not escaped) into every combination.
fn expand_braces(pattern: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let Some(open) = find_top_level(&chars, 0, |c| c == '{')? else {
        return Ok(vec![pattern.to_owned()]);
    };
    // The matching `}` and the top-level commas between.
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => i = class_end(&chars, i)?,
            '{' => depth += 1,
            '}' if depth == 0 => {
                close = Some(i);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    let close = close.ok_or_else(|| format!("the `{{` at character {} is not closed", open + 1))?;
    let prefix: String = chars[..open].iter().collect();
    let suffix: String = chars[close + 1..].iter().collect();
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut expanded = Vec::new();
    for pair in bounds.windows(2) {
        let alternative: String = chars[pair[0] + 1..pair[1]].iter().collect();
        for rest in expand_braces(&format!("{prefix}{alternative}{suffix}"))? {
            if expanded.len() == MAX_ALTERNATIVES {
                return Err(format!(
                    "the braces expand to more than {MAX_ALTERNATIVES} alternatives"
                ));
            }
            expanded.push(rest);
        }
    }
    Ok(expanded)
}

/// The index of the first character from `start` that `wanted` accepts, outside `[..]` and
/// escapes.
fn find_top_level(
    chars: &[char],
    start: usize,
    wanted: impl Fn(char) -> bool,
) -> Result<Option<usize>, String> {
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => i = class_end(chars, i)?,
            c if wanted(c) => return Ok(Some(i)),
            _ => {}
        }
        i += 1;
    }
    Ok(None)
}

/// The index of the `]` closing the class that opens at `open`. A `]` right after `[` (or
/// after `[!`, `[^`) is a member, not the end.
fn class_end(chars: &[char], open: usize) -> Result<usize, String> {
    let mut i = open + 1;
    if matches!(chars.get(i), Some('!' | '^')) {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            ']' => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    Err(format!("the `[` at character {} is not closed", open + 1))
}

/// The tokens of one component (without braces, which are expanded first).
fn tokenize(component: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = component.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if tokens.last() != Some(&Token::AnyRun) {
                    tokens.push(Token::AnyRun);
                }
            }
            '?' => tokens.push(Token::AnyChar),
            '\\' => {
                i += 1;
                let c = chars
                    .get(i)
                    .ok_or("the pattern ends with `\\`: escape a character, or drop it")?;
                tokens.push(Token::Literal(*c));
            }
            '[' => {
                let end = class_end(&chars, i)?;
                tokens.push(class(&chars[i + 1..end]));
                i = end;
            }
            c => tokens.push(Token::Literal(c)),
        }
        i += 1;
    }
    Ok(tokens)
}

/// The class token for the characters between `[` and `]`.
fn class(body: &[char]) -> Token {
    let (negated, body) = match body.first() {
        Some('!' | '^') => (true, &body[1..]),
        _ => (false, body),
    };
    let mut members = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i] == '\\' && i + 1 < body.len() {
            i += 1;
        }
        members.push(body[i]);
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < members.len() {
        if i + 2 < members.len() && members[i + 1] == '-' {
            ranges.push((members[i], members[i + 2]));
            i += 3;
        } else {
            ranges.push((members[i], members[i]));
            i += 1;
        }
    }
    Token::Class { negated, ranges }
}

/// Whether the pattern's components match the path's, by dynamic programming over
/// (pattern position, path position).
fn match_components(components: &[Component], path: &[Vec<char>]) -> bool {
    // matches[i][j]: components[i..] match path[j..].
    let mut matches = vec![vec![false; path.len() + 1]; components.len() + 1];
    matches[components.len()][path.len()] = true;
    for i in (0..components.len()).rev() {
        for j in (0..=path.len()).rev() {
            matches[i][j] = match &components[i] {
                // A trailing `**` needs at least one component: `docs/**` is what is inside.
                Component::AnyDepth if i + 1 == components.len() => j < path.len(),
                Component::AnyDepth => matches[i + 1][j] || (j < path.len() && matches[i][j + 1]),
                Component::Segment(tokens) => {
                    j < path.len() && matches[i + 1][j + 1] && match_segment(tokens, &path[j])
                }
            };
        }
    }
    matches[0][0]
}

/// Whether the tokens match the whole of `text`: the classic wildcard walk that backtracks
/// only to the last `*`, so it takes time proportional to their lengths' product at worst.
fn match_segment(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut c) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while c < text.len() {
        match tokens.get(t) {
            Some(Token::AnyRun) => {
                last_star = Some((t, c));
                t += 1;
            }
            Some(token) if matches_char(token, text[c]) => {
                t += 1;
                c += 1;
            }
            _ => match last_star {
                Some((star, from)) => {
                    t = star + 1;
                    c = from + 1;
                    last_star = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| *token == Token::AnyRun)
}

/// Whether a single-character token matches `c`.
fn matches_char(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(literal) => *literal == c,
        Token::AnyChar => true,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
        }
        Token::AnyRun => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).unwrap().is_match(path)
    }

    #[test]
    fn stars_stay_within_a_component() {
        assert!(matches("*.txt", "a.txt"));
        assert!(matches("*.txt", ".hidden.txt"));
        assert!(!matches("*.txt", "docs/a.txt"));
        assert!(matches("docs/*.txt", "docs/a.txt"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("*", "anything"));
        assert!(!matches("*", "a/b"));
        assert!(matches("?.rs", "a.rs"));
        assert!(!matches("?.rs", "ab.rs"));
        assert!(matches("README.md", "README.md"));
        assert!(!matches("README.md", "README.mdx"));
    }

    #[test]
    fn double_stars_cross_components() {
        assert!(matches("**/*.md", "a.md"));
        assert!(matches("**/*.md", "docs/deep/a.md"));
        assert!(!matches("**/*.md", "docs/a.txt"));
        assert!(matches("docs/**", "docs/a"));
        assert!(matches("docs/**", "docs/x/y.rs"));
        assert!(!matches("docs/**", "docs"));
        assert!(!matches("docs/**", "src/a"));
        assert!(matches("a/**/b", "a/b"));
        assert!(matches("a/**/b", "a/x/y/b"));
        assert!(!matches("a/**/b", "a/x/y/c"));
        assert!(matches("**", "a/b/c"));
        assert!(matches("src/**/test_*.rs", "src/x/test_one.rs"));
    }

    #[test]
    fn classes_braces_and_escapes() {
        assert!(matches("[ab].rs", "a.rs"));
        assert!(!matches("[ab].rs", "c.rs"));
        assert!(matches("file[0-9].txt", "file7.txt"));
        assert!(!matches("file[!0-9].txt", "file7.txt"));
        assert!(matches("file[^0-9].txt", "fileX.txt"));
        assert!(matches("[]]", "]"));
        assert!(matches("*.{md,txt}", "b.txt"));
        assert!(matches("*.{md,txt}", "b.md"));
        assert!(!matches("*.{md,txt}", "b.rs"));
        assert!(matches("{src,docs/{a,b}}/*.rs", "docs/b/x.rs"));
        assert!(matches("{,x}y", "y"));
        assert!(matches("[{]a", "{a"));
        assert!(matches(r"\*.md", "*.md"));
        assert!(!matches(r"\*.md", "a.md"));
        assert!(matches(r"\{a,b\}", "{a,b}"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(
            Glob::new("[abc")
                .unwrap_err()
                .contains("`[` at character 1 is not closed")
        );
        assert!(
            Glob::new("a{b,c")
                .unwrap_err()
                .contains("`{` at character 2 is not closed")
        );
        assert!(Glob::new("a\\").unwrap_err().contains("ends with"));
        let error = Glob::new(&"{a,b}".repeat(9)).unwrap_err();
        assert!(error.contains("more than 256 alternatives"), "{error}");
        assert!(Glob::new(&"{a,b}".repeat(8)).is_ok());
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let pattern = format!("{}b", "*a".repeat(30));
        let text = "a".repeat(200);
        assert!(!matches(&pattern, &text));
        let pattern = format!("{}z", "**/".repeat(20));
        let path = vec!["d"; 100].join("/");
        assert!(!matches(&pattern, &path));
    }
}
