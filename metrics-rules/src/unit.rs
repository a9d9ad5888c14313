//! Units: UCUM's case-sensitive codes as OpenTelemetry uses them.
//!
//! The accepted syntax is UCUM's, restricted to the atoms a service measures: a unit is terms
//! joined by `.` (product) and `/` (quotient), optionally starting with `/`; a term is an atom
//! with an optional prefix and exponent (`ms`, `KiBy`, `m2`, `s-1`), a whole number (`1`,
//! `1000`), an annotation in braces (`{request}`), an atom followed by an annotation
//! (`By{heap}`), or a parenthesized unit. Anything else is refused with what was probably
//! meant, so that `milliseconds` and `bytes` do not reach a backend that expects `ms` and `By`.

use std::fmt;

use crate::MAX_UNIT_LEN;

/// Atoms that take a metric prefix (`k`, `M`, `m`, `u`, ...) and binary prefixes (`Ki`, ...).
const METRIC_ATOMS: &[&str] = &[
    "s", "g", "m", "By", "bit", "Hz", "Cel", "K", "A", "V", "W", "J", "N", "Pa", "L", "l", "mol",
    "rad", "sr", "cd", "Bd", "Ohm", "C", "F", "T", "Wb", "S", "lx", "lm",
];

/// Atoms that take no prefix. `KBy` and `Kbit` are not UCUM (its kilo is `k`, `K` is kelvin)
/// but are what OpenTelemetry's own tables use for kilobytes, so both spellings pass.
const PLAIN_ATOMS: &[&str] = &["min", "h", "d", "wk", "mo", "a", "%", "deg", "KBy", "Kbit"];

/// UCUM's decimal prefixes, then the binary ones.
const PREFIXES: &[&str] = &[
    "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "da", "d", "c", "m", "u", "n", "p", "f", "a", "z",
    "y", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
];

/// Words and abbreviations people write for units, lowercase, with the UCUM code meant.
const WORDS: &[(&str, &str)] = &[
    ("second", "s"),
    ("seconds", "s"),
    ("sec", "s"),
    ("secs", "s"),
    ("millisecond", "ms"),
    ("milliseconds", "ms"),
    ("msec", "ms"),
    ("millis", "ms"),
    ("microsecond", "us"),
    ("microseconds", "us"),
    ("micros", "us"),
    ("usec", "us"),
    ("nanosecond", "ns"),
    ("nanoseconds", "ns"),
    ("nanos", "ns"),
    ("nsec", "ns"),
    ("minute", "min"),
    ("minutes", "min"),
    ("mins", "min"),
    ("hour", "h"),
    ("hours", "h"),
    ("hr", "h"),
    ("hrs", "h"),
    ("day", "d"),
    ("days", "d"),
    ("b", "By"),
    ("byte", "By"),
    ("bytes", "By"),
    ("kb", "kBy"),
    ("kilobytes", "kBy"),
    ("kib", "KiBy"),
    ("kibibytes", "KiBy"),
    ("mb", "MBy"),
    ("megabytes", "MBy"),
    ("mib", "MiBy"),
    ("mebibytes", "MiBy"),
    ("gb", "GBy"),
    ("gigabytes", "GBy"),
    ("gib", "GiBy"),
    ("gibibytes", "GiBy"),
    ("tb", "TBy"),
    ("terabytes", "TBy"),
    ("tib", "TiBy"),
    ("bits", "bit"),
    ("bps", "bit/s"),
    ("percent", "%"),
    ("percentage", "%"),
    ("pct", "%"),
    ("ratio", "1"),
    ("fraction", "1"),
    ("none", "1"),
    ("unitless", "1"),
    ("dimensionless", "1"),
    ("hertz", "Hz"),
    ("celsius", "Cel"),
    ("degc", "Cel"),
    ("kelvin", "K"),
    ("meter", "m"),
    ("meters", "m"),
    ("metre", "m"),
    ("metres", "m"),
    ("gram", "g"),
    ("grams", "g"),
];

/// What is wrong with a unit. Its `Display` is the reason, to follow "invalid `unit` `...`: ".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitProblem {
    /// `unit = ""`.
    Empty,
    /// A character outside ASCII.
    NotAscii,
    /// Longer than [`MAX_UNIT_LEN`]; the length.
    TooLong(usize),
    /// A word or abbreviation for a known unit; the UCUM code meant.
    Word(String),
    /// A plural noun, a count of things: the annotation meant (`{request}`).
    Count(String),
    /// A prefix on an atom that takes none (`kmin`); the atom.
    PrefixNotAllowed(String),
    /// An atom this crate does not know; the atom.
    UnknownAtom(String),
    /// Malformed syntax: what is wrong.
    Syntax(&'static str),
}

impl fmt::Display for UnitProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitProblem::Empty => f.write_str(
                "it cannot be empty: leave `unit` out for no unit, or write `1` for a dimensionless value",
            ),
            UnitProblem::NotAscii => f.write_str(
                "units are ASCII UCUM codes, such as `us` for microseconds or `Cel` for degrees Celsius",
            ),
            UnitProblem::TooLong(len) => write!(
                f,
                "it is {len} characters long, OpenTelemetry allows at most {MAX_UNIT_LEN}"
            ),
            UnitProblem::Word(code) => {
                write!(f, "units are UCUM codes; did you mean `{code}`?")
            }
            UnitProblem::Count(annotation) => write!(
                f,
                "units are UCUM codes; a count of things is written as an annotation: did you mean `{annotation}`?"
            ),
            UnitProblem::PrefixNotAllowed(atom) => {
                write!(f, "`{atom}` takes no prefix in UCUM")
            }
            UnitProblem::UnknownAtom(atom) => write!(
                f,
                "`{atom}` is not a UCUM unit; expected a code such as `s`, `ms`, `By`, `KiBy`, `1`, `%`, \
                 or an annotation such as `{{request}}`, joined by `.` and `/` as in `By/s`"
            ),
            UnitProblem::Syntax(problem) => f.write_str(problem),
        }
    }
}

/// Checks a unit against UCUM as OpenTelemetry uses it.
pub fn check_unit(unit: &str) -> Result<(), UnitProblem> {
    if unit.is_empty() {
        return Err(UnitProblem::Empty);
    }
    if !unit.is_ascii() {
        return Err(UnitProblem::NotAscii);
    }
    if unit.len() > MAX_UNIT_LEN {
        return Err(UnitProblem::TooLong(unit.len()));
    }
    parse(unit).map_err(|problem| suggestion(unit).unwrap_or(problem))
}

fn parse(unit: &str) -> Result<(), UnitProblem> {
    let mut parser = Parser { rest: unit };
    parser.unit()?;
    match parser.rest.as_bytes().first() {
        None => Ok(()),
        Some(b')') => Err(UnitProblem::Syntax("a `)` without its `(`")),
        Some(_) => Err(UnitProblem::Syntax("terms are joined by `.` or `/`")),
    }
}

/// A recursive-descent reader of the grammar in the module's documentation.
struct Parser<'a> {
    /// What is left to read; ASCII, so any byte index is a character boundary.
    rest: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.rest.as_bytes().first().copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.rest = &self.rest[1..];
        }
        found
    }

    /// `['/'] term (('.' | '/') term)*`
    fn unit(&mut self) -> Result<(), UnitProblem> {
        self.eat(b'/');
        self.term()?;
        while self.eat(b'.') || self.eat(b'/') {
            self.term()?;
        }
        Ok(())
    }

    fn term(&mut self) -> Result<(), UnitProblem> {
        if self.eat(b'(') {
            self.unit()?;
            if !self.eat(b')') {
                return Err(UnitProblem::Syntax("a `(` without its `)`"));
            }
            return Ok(());
        }
        if self.peek() == Some(b'{') {
            return self.annotation();
        }
        let len = self
            .rest
            .bytes()
            .position(|b| b"./(){}".contains(&b))
            .unwrap_or(self.rest.len());
        if len == 0 {
            return Err(UnitProblem::Syntax(
                "a term is missing: `.` and `/` join two units",
            ));
        }
        let token = &self.rest[..len];
        self.rest = &self.rest[len..];
        atom_with_exponent(token)?;
        if self.peek() == Some(b'{') {
            self.annotation()?;
        }
        Ok(())
    }

    /// `'{' (ASCII 33..=126 but braces)+ '}'`
    fn annotation(&mut self) -> Result<(), UnitProblem> {
        self.eat(b'{');
        let Some(len) = self.rest.find('}') else {
            return Err(UnitProblem::Syntax("a `{` without its `}`"));
        };
        let text = &self.rest.as_bytes()[..len];
        if text.is_empty() {
            return Err(UnitProblem::Syntax(
                "an annotation cannot be empty: write what is counted, as in `{request}`",
            ));
        }
        if text
            .iter()
            .any(|&b| b == b'{' || !(b'!'..=b'~').contains(&b))
        {
            return Err(UnitProblem::Syntax(
                "an annotation holds printable ASCII characters without spaces or braces, as in `{request}`",
            ));
        }
        self.rest = &self.rest[len + 1..];
        Ok(())
    }
}

/// A whole number, or an atom with an optional prefix and an optional signed exponent.
fn atom_with_exponent(token: &str) -> Result<(), UnitProblem> {
    if token.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let base = token.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = if base.len() < token.len() {
        base.strip_suffix(['+', '-']).unwrap_or(base)
    } else {
        base
    };
    if base.is_empty() || base.bytes().any(|b| b == b'+' || b == b'-') {
        return Err(UnitProblem::UnknownAtom(token.to_owned()));
    }
    atom(base)
}

fn atom(token: &str) -> Result<(), UnitProblem> {
    if METRIC_ATOMS.contains(&token) || PLAIN_ATOMS.contains(&token) {
        return Ok(());
    }
    let unprefixed = || {
        PREFIXES
            .iter()
            .filter_map(|prefix| token.strip_prefix(prefix))
    };
    if unprefixed().any(|atom| METRIC_ATOMS.contains(&atom)) {
        return Ok(());
    }
    if let Some(atom) = unprefixed().find(|atom| PLAIN_ATOMS.contains(atom)) {
        return Err(UnitProblem::PrefixNotAllowed(atom.to_owned()));
    }
    Err(UnitProblem::UnknownAtom(token.to_owned()))
}

/// What an invalid unit probably meant: its words replaced by their codes (`bytes/second`:
/// `By/s`), or for a lone plural noun, an annotation (`requests`: `{request}`).
fn suggestion(unit: &str) -> Option<UnitProblem> {
    let mut replaced = String::new();
    let mut changed = false;
    for piece in unit.split_inclusive(['.', '/']) {
        let (word, separator) = match piece.strip_suffix(['.', '/']) {
            Some(word) => (word, &piece[word.len()..]),
            None => (piece, ""),
        };
        let lower = word.to_ascii_lowercase();
        match WORDS.iter().find(|(known, _)| *known == lower) {
            Some((_, code)) if parse(word).is_err() => {
                replaced.push_str(code);
                changed = true;
            }
            _ => replaced.push_str(word),
        }
        replaced.push_str(separator);
    }
    if changed && parse(&replaced).is_ok() {
        return Some(UnitProblem::Word(replaced));
    }
    let plural = unit.len() > 3
        && unit.ends_with('s')
        && unit.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    plural.then(|| UnitProblem::Count(format!("{{{}}}", &unit[..unit.len() - 1])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_opentelemetry_uses() {
        for unit in [
            "s",
            "ms",
            "us",
            "ns",
            "min",
            "h",
            "d",
            "By",
            "KiBy",
            "MiBy",
            "GiBy",
            "TiBy",
            "KBy",
            "kBy",
            "MBy",
            "GBy",
            "TBy",
            "bit",
            "Kibit",
            "Hz",
            "%",
            "1",
            "m",
            "Cel",
            "By/s",
            "{request}/s",
            "{request}",
            "1/s",
            "/s",
            "m2",
            "s-1",
            "m.s-2",
            "kg.m/s2",
            "By{heap}",
            "{packet}/(s.m)",
            "10",
            "{HTTP 1.1}".replace(' ', "_").as_str(),
            "{a-b:c}",
        ] {
            assert_eq!(check_unit(unit), Ok(()), "{unit}");
        }
    }

    /// Every short string of the characters units are made of: an answer, never a panic,
    /// and no suggestion that is itself invalid.
    #[test]
    fn any_short_input_gets_an_answer() {
        let alphabet: Vec<char> = "sBy{}()./1-+kKi% ".chars().collect();
        let mut inputs = vec![String::new()];
        for _ in 0..4 {
            inputs = inputs
                .iter()
                .flat_map(|prefix| alphabet.iter().map(move |c| format!("{prefix}{c}")))
                .collect();
            for input in &inputs {
                if let Err(UnitProblem::Word(code) | UnitProblem::Count(code)) = check_unit(input) {
                    assert_eq!(check_unit(&code), Ok(()), "{input} suggests {code}");
                }
            }
        }
        let nested = format!("{}s{}", "(".repeat(31), ")".repeat(31));
        assert_eq!(check_unit(&nested), Ok(()));
    }

    #[test]
    fn suggests_the_code_for_a_word() {
        let word = |code: &str| Err(UnitProblem::Word(code.to_owned()));
        assert_eq!(check_unit("milliseconds"), word("ms"));
        assert_eq!(check_unit("bytes"), word("By"));
        assert_eq!(check_unit("Bytes/second"), word("By/s"));
        assert_eq!(check_unit("B"), word("By"));
        assert_eq!(check_unit("MB"), word("MBy"));
        assert_eq!(check_unit("percent"), word("%"));
        assert_eq!(check_unit("{request}/sec"), word("{request}/s"));
        assert_eq!(
            check_unit("requests"),
            Err(UnitProblem::Count("{request}".to_owned()))
        );
    }

    #[test]
    fn refuses_what_is_not_ucum() {
        let syntax = |unit| matches!(check_unit(unit), Err(UnitProblem::Syntax(_)));
        assert_eq!(check_unit(""), Err(UnitProblem::Empty));
        assert_eq!(check_unit("µs"), Err(UnitProblem::NotAscii));
        assert_eq!(check_unit(&"s".repeat(64)), Err(UnitProblem::TooLong(64)));
        assert_eq!(
            check_unit("kmin"),
            Err(UnitProblem::PrefixNotAllowed("min".to_owned()))
        );
        assert_eq!(
            check_unit("furlong"),
            Err(UnitProblem::UnknownAtom("furlong".to_owned()))
        );
        assert_eq!(
            check_unit("s2x"),
            Err(UnitProblem::UnknownAtom("s2x".to_owned()))
        );
        for bad in [
            "{request", "{}", "{a b}", "By/", "./s", "(s", "s)", "s..m", "s-", "{a{b}",
        ] {
            assert!(syntax(bad) || check_unit(bad).is_err(), "{bad}");
        }
        assert!(syntax("{request"));
        assert!(syntax("{}"));
        assert!(syntax("By/"));
        assert!(syntax("(s"));
        assert!(syntax("s)"));
    }
}
