//! Finds where a dotted key such as `parser.patterns[1].regex` is in a TOML
//! text, for errors found after deserialisation.

use toml::de::{DeTable, DeValue};

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = part
            .split_once('[')
            .map_or((part, ""), |(name, rest)| (name, rest));
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(index) = index.parse() {
                out.push(Segment::Index(index));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// The byte offset of the value at `path`, or of the deepest part of the path
/// that exists.
pub(crate) fn locate(text: &str, path: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut best = None;
    let mut table = Some(root.get_ref());
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    for segment in segments(path) {
        match segment {
            Segment::Key(name) => {
                let current = match (table, value.map(|spanned| spanned.get_ref())) {
                    (Some(table), None) => table,
                    (_, Some(DeValue::Table(table))) => table,
                    _ => return best,
                };
                let (key, found) = current
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == name)?;
                best = Some(key.span().start);
                table = None;
                value = Some(found);
            }
            Segment::Index(index) => {
                let Some(DeValue::Array(array)) = value.map(|spanned| spanned.get_ref()) else {
                    return best;
                };
                let item = array.get(index)?;
                best = Some(item.span().start);
                value = Some(item);
            }
        }
    }
    match value.map(|spanned| spanned.get_ref()) {
        Some(DeValue::Table(_) | DeValue::Array(_)) | None => best,
        Some(_) => value.map(|spanned| spanned.span().start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[queue]\nshards = 0\n\n[[parser.patterns]]\nname = \"a\"\nregex = \"x\"\n\n[[parser.patterns]]\nname = \"b\"\nregex = \"(\"\n";

    #[test]
    fn finds_values_inside_tables_and_arrays_of_tables() {
        assert_eq!(locate(TEXT, "queue.shards"), TEXT.find("0\n"));
        assert_eq!(locate(TEXT, "parser.patterns[1].regex"), TEXT.find("\"(\""));
    }

    #[test]
    fn missing_keys_give_the_deepest_existing_part() {
        assert_eq!(locate(TEXT, "queue.nothing"), None);
        assert_eq!(locate(TEXT, "archive.url"), None);
    }
}
