//! Tool-name look-alikes: a skeleton that erases visual tricks, and a test of whether two
//! names could be mistaken for one another.
//!
//! The character table is written by hand rather than taken from Unicode's full confusables
//! data (UTS #39, about 6,000 entries): tool names are short ASCII identifiers, and the
//! characters an impostor would use to imitate one are a few dozen Latin look-alikes from
//! Cyrillic, Greek and Armenian. Compatibility forms (fullwidth, mathematical letters,
//! ligatures) and accents are handled by compatibility decomposition instead of the table.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Skeletons shorter than this are compared only for equality, never by edit distance:
/// among short names one edit is a large part of the name (`get`/`set`, `list`/`lint`), so
/// near matches are mostly noise. Warden's names carry a `<component>_` prefix, so almost
/// every real name is longer than this.
pub const MIN_FUZZY_LEN: usize = 6;

/// A normalized skeleton of a tool name: case-folded, separators (`_`, `-`, `.`,
/// whitespace) and invisible characters removed, and visually confusable characters mapped
/// to one representative: `0`→`o`; `1`, `i`, `I`, `|` and `l`→`l` (case folding loses
/// whether an `i` was a capital `I`, which looks like `l`); `5`→`s`; `rn`→`m`; `vv`→`w`;
/// Cyrillic, Greek and Armenian look-alikes, fullwidth and other compatibility forms →
/// ASCII; accents dropped.
pub fn skeleton(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if crate::lint::is_hidden(c) {
            continue;
        }
        fold(c, &mut |d| {
            if matches!(d, '_' | '-' | '.') || d.is_whitespace() {
                return;
            }
            for lower in d.to_lowercase() {
                out.push(match lower {
                    '0' => 'o',
                    '1' | 'i' | '|' => 'l',
                    '5' => 's',
                    other => other,
                });
            }
        });
    }
    out.replace("rn", "m").replace("vv", "w")
}

/// Whether two distinct names are confusable: their skeletons are equal, or both are at
/// least [`MIN_FUZZY_LEN`] characters and one edit apart (an insertion, a deletion, a
/// substitution, or a swap of two adjacent characters). Identical names are not
/// "confusable": they are duplicates, a different problem.
pub fn confusable(a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    let (a, b) = (skeleton(a), skeleton(b));
    if a == b {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    a.len().min(b.len()) >= MIN_FUZZY_LEN && within_one_edit(&a, &b)
}

/// Passes `c` on as what it looks like: compatibility-decomposed (fullwidth `ａ`, `𝐚`, `ﬁ`
/// become ASCII), accents dropped, and the look-alikes of [`ascii_lookalike`] replaced.
/// Other characters pass unchanged.
pub(crate) fn fold(c: char, emit: &mut impl FnMut(char)) {
    if c.is_ascii() {
        emit(c);
        return;
    }
    decompose_compatible(c, |d| {
        if !is_combining_mark(d) {
            emit(ascii_lookalike(d).unwrap_or(d));
        }
    });
}

/// The ASCII letter a non-Latin character is drawn like, for the common homoglyphs of
/// Cyrillic, Greek, Armenian and a few Latin extensions (a hand table: see the module
/// documentation).
fn ascii_lookalike(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic.
        'а' => 'a',
        'А' => 'A',
        'В' | 'в' => 'B',
        'е' | 'ё' => 'e',
        'Е' | 'Ё' => 'E',
        'З' => '3',
        'һ' => 'h',
        'Н' | 'н' => 'H',
        'і' | 'ї' => 'i',
        'І' | 'Ї' | 'Ӏ' | 'ӏ' => 'I',
        'ј' => 'j',
        'Ј' => 'J',
        'к' => 'k',
        'К' => 'K',
        'М' | 'м' => 'M',
        'о' => 'o',
        'О' => 'O',
        'р' => 'p',
        'Р' => 'P',
        'с' => 'c',
        'С' => 'C',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'Т' | 'т' => 'T',
        'у' => 'y',
        'У' | 'Ү' | 'ү' => 'Y',
        'х' => 'x',
        'Х' => 'X',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'Ԝ' => 'W',
        'ь' => 'b',
        // Greek.
        'α' => 'a',
        'Α' => 'A',
        'Β' => 'B',
        'ε' => 'e',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'ι' => 'i',
        'Ι' => 'I',
        'κ' => 'k',
        'Κ' => 'K',
        'Μ' => 'M',
        'ν' => 'v',
        'Ν' => 'N',
        'ο' => 'o',
        'Ο' => 'O',
        'ρ' => 'p',
        'Ρ' => 'P',
        'τ' => 't',
        'Τ' => 'T',
        'υ' => 'u',
        'Υ' => 'Y',
        'χ' => 'x',
        'Χ' => 'X',
        'γ' => 'y',
        // Armenian.
        'օ' => 'o',
        'ս' => 'u',
        'հ' => 'h',
        'ո' => 'n',
        'զ' => 'q',
        // Latin extensions and letter-like symbols.
        'ı' => 'i',
        'ȷ' => 'j',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ǀ' => 'l',
        'ʏ' => 'y',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ᴢ' => 'z',
        _ => return None,
    })
}

/// Whether the optimal-string-alignment distance between `a` and `b` is at most one: one
/// insertion, deletion, substitution or adjacent transposition.
fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    match (a, b) {
        // Equal, one insertion or deletion, or one substitution.
        ([] | [_], [] | [_]) => true,
        // One adjacent transposition.
        ([x1, x2], [y1, y2]) => x1 == y2 && x2 == y1,
        _ => false,
    }
}

#[cfg(test)]
/// Every tool name of the example manifest (`warden check --manifest warden.toml`,
/// `warden inspect plugins/<id>.wasm`), grouped by component.
pub(crate) const EXAMPLE_TOOLS: &[(&str, &[&str])] = &[
    (
        "echo",
        &[
            "echo_area",
            "echo_classify",
            "echo_divide",
            "echo_echo",
            "echo_greet",
            "echo_integers",
            "echo_maybe_double",
            "echo_pairs",
            "echo_ping",
            "echo_scalars",
        ],
    ),
    ("text", &["text_count", "text_replace", "text_search"]),
    (
        "files",
        &["files_list", "files_read", "files_search", "files_write"],
    ),
    ("fetch", &["fetch_get", "fetch_post"]),
    ("github", &["github_comment", "github_get", "github_search"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeletons() {
        assert_eq!(skeleton("files_read"), "fllesread");
        assert_eq!(skeleton("FILES-READ"), "fllesread");
        assert_eq!(skeleton("text_c0unt"), "textcount");
        assert_eq!(skeleton("tu\u{200b}rn.5"), "tums");
        assert_eq!(skeleton("vvrite"), "wrlte");
        // Fullwidth, mathematical bold, Cyrillic and Greek look-alikes, an accent.
        assert_eq!(skeleton("ｆｉｌｅｓ"), "flles");
        assert_eq!(skeleton("𝐟𝐢𝐥𝐞𝐬"), "flles");
        assert_eq!(skeleton("ѕеаrсh"), "search");
        assert_eq!(skeleton("εcho_νοte"), "echovote");
        assert_eq!(skeleton("fétch"), "fetch");
    }

    #[test]
    fn look_alikes_of_a_name() {
        for other in [
            "fi1es_read",
            "Files_Read",
            "files-read",
            "filesread",
            "files_reed",
            "fіles_read", // Cyrillic і
            "files_raed",
            "files_rread",
            "flies_read",
            "ﬁles_read", // the fi ligature
        ] {
            assert!(confusable("files_read", other), "{other}");
            assert!(confusable(other, "files_read"), "{other}");
        }
    }

    #[test]
    fn distinct_names() {
        for (a, b) in [
            ("files_read", "files_read"),
            ("files_read", "files_write"),
            ("text_count", "text_search"),
            ("files_read", "fetch_get"),
            ("files_read", "files_reader"),
            ("files_read", "files_rd"),
        ] {
            assert!(!confusable(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn short_names_only_by_skeleton() {
        // One edit apart, but too short to say.
        assert!(!confusable("get", "set"));
        assert!(!confusable("a_list", "a_lint"));
        // Equal skeletons are confusable at any length.
        assert!(confusable("get", "GET"));
        assert!(confusable("l0g", "log"));
    }

    #[test]
    fn the_example_catalog() {
        let names: Vec<(&str, &str)> = EXAMPLE_TOOLS
            .iter()
            .flat_map(|(id, names)| names.iter().map(move |name| (*id, *name)))
            .collect();
        let mut pairs = Vec::new();
        for (i, (id_a, a)) in names.iter().enumerate() {
            for (id_b, b) in &names[i + 1..] {
                if confusable(a, b) {
                    pairs.push((*a, *b, id_a == id_b));
                }
            }
        }
        // No two example names are confusable, across components or within one (Warden
        // compares only across components: one author chose all of a component's names).
        // The closest pairs are three edits apart (`fetch_get`/`fetch_post`,
        // `echo_pairs`/`echo_ping`).
        assert_eq!(pairs, Vec::<(&str, &str, bool)>::new());
    }

    #[test]
    fn one_edit() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        let ok = |a: &str, b: &str| within_one_edit(&chars(a), &chars(b));
        assert!(ok("abc", "abc"));
        assert!(ok("abc", "abd"));
        assert!(ok("abc", "ab"));
        assert!(ok("abc", "xabc"));
        assert!(ok("abcd", "abdc"));
        assert!(ok("", "a"));
        assert!(!ok("abc", "cab"));
        assert!(!ok("abcd", "dbca"));
        assert!(!ok("abc", "a"));
        assert!(!ok("abcd", "axcy"));
    }
}
