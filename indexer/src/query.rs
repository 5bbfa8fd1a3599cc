//! The query language: Lucene-style, parsed here so that every error has a
//! position and every query stays within bounds.
//!
//! ```text
//! timeout                         a word in the body
//! "connection reset"              a phrase
//! level:ERROR host:web-1          exact values of raw fields; a level word
//!                                 finds every spelling of its level
//! level:"ERROR"                   quoted: exactly as written
//! http.response.status_code:500   an attribute (its JSON path)
//! status:[500 TO 599]  severity:>=17   ranges, inclusive [] or exclusive {}
//! time*  us?r  user:ad*           wildcards
//! a AND b   a OR b   NOT a   -a   +a   (a OR b) AND c   a && b || !c
//! ```
//!
//! Adjacent clauses are joined by AND. Fields: `body` (the default; `message`
//! and `msg` are aliases), `host`, `source`, `service`, `level`, `file`, `id`,
//! `severity`, `offset`, `parse_error`; any other name is a path in
//! `attributes` (`attributes.` may be written or left out).
//!
//! Limits: [`MAX_QUERY_BYTES`] bytes, [`MAX_DEPTH`] levels of nesting,
//! [`MAX_CLAUSES`] clauses, [`MAX_WILDCARD_BYTES`] bytes per wildcard
//! pattern, and a wildcard's automaton at most [`MAX_WILDCARD_STATES`] states
//! (each `?` after a `*` can double them: `*a??????????` is refused with its
//! position). Wildcard regexes are built only from escaped literal text.

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::control::{Control, Guarded};
use crate::schema::Fields;
use loghaul_model::EventId;

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 4096;
/// Deepest nesting of parentheses and operators accepted.
pub const MAX_DEPTH: usize = 32;
/// Most clauses (words, phrases, ranges) in one query.
pub const MAX_CLAUSES: usize = 256;
/// Longest wildcard pattern, in bytes.
pub const MAX_WILDCARD_BYTES: usize = 128;
/// Most automaton states a wildcard may need (the term dictionary's regex
/// engine stops there).
pub const MAX_WILDCARD_STATES: usize = 1000;

/// A query that cannot run, and where in its text the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// What is wrong, in words.
    pub message: String,
    /// Byte offset into the query.
    pub position: usize,
}

impl QueryError {
    fn at(position: usize, message: impl Into<String>) -> Self {
        QueryError {
            message: message.into(),
            position,
        }
    }

    /// The query with a caret under the problem, for terminals.
    pub fn render(&self, query: &str) -> String {
        let column = query
            .get(..self.position.min(query.len()))
            .map_or(0, |prefix| prefix.chars().count());
        format!(
            "{} (at column {})\n  {query}\n  {}^",
            self.message,
            column + 1,
            " ".repeat(column)
        )
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} (at byte {})", self.message, self.position)
    }
}

impl std::error::Error for QueryError {}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// Everything (the empty query, or `*`).
    All,
    /// All of these.
    And(Vec<Ast>),
    /// Any of these.
    Or(Vec<Ast>),
    /// Not this.
    Not(Box<Ast>),
    /// One clause.
    Clause(Clause),
}

/// `field:value`, or a bare value for the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The field as written, if any.
    pub field: Option<String>,
    /// The value.
    pub value: ClauseValue,
    /// Where the clause starts.
    pub position: usize,
}

/// What a clause matches.
#[derive(Debug, Clone, PartialEq)]
pub enum ClauseValue {
    /// A word, possibly with `*` and `?`.
    Word(String),
    /// `"a phrase"`.
    Phrase(String),
    /// `[a TO b]`, `{a TO b}`, `>=a`, `<b`…; `*` is open.
    Range(Bound<String>, Bound<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Must,
    Clause(Clause),
}

struct Lexer<'a> {
    text: &'a str,
    at: usize,
    clauses: usize,
}

fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == '@')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    /// A phrase starting at the current `"`.
    fn phrase(&mut self) -> Result<String, QueryError> {
        let start = self.at;
        let mut value = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((index, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += index + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                other => value.push(other),
            }
        }
        Err(QueryError::at(start, "this quote is never closed"))
    }

    /// A bare word: up to a space or parenthesis.
    fn word(&mut self) -> String {
        let mut value = String::new();
        let mut chars = self.rest().char_indices().peekable();
        let mut end = self.rest().len();
        while let Some((index, c)) = chars.next() {
            if c.is_whitespace() || c == '(' || c == ')' {
                end = index;
                break;
            }
            if c == '\\' {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
                continue;
            }
            value.push(c);
        }
        self.at += end;
        value
    }

    /// `[a TO b]` or `{a TO b}` at the current bracket.
    fn range(&mut self) -> Result<ClauseValue, QueryError> {
        let start = self.at;
        let inclusive_low = self.rest().starts_with('[');
        self.at += 1;
        self.skip_spaces();
        let low = self.range_bound()?;
        self.skip_spaces();
        if !self.rest().starts_with("TO") {
            return Err(QueryError::at(self.at, "expected TO inside the range"));
        }
        self.at += 2;
        self.skip_spaces();
        let high_start = self.at;
        let high = self.range_bound()?;
        self.skip_spaces();
        let inclusive_high = match self.peek_char() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(QueryError::at(
                    start,
                    "this range is never closed with ] or }",
                ));
            }
        };
        self.at += 1;
        let bound = |value: Option<String>, inclusive: bool| match value {
            None => Bound::Unbounded,
            Some(value) if inclusive => Bound::Included(value),
            Some(value) => Bound::Excluded(value),
        };
        if low.is_none() && high.is_none() {
            return Err(QueryError::at(
                high_start,
                "a range needs at least one bound",
            ));
        }
        Ok(ClauseValue::Range(
            bound(low, inclusive_low),
            bound(high, inclusive_high),
        ))
    }

    fn range_bound(&mut self) -> Result<Option<String>, QueryError> {
        let start = self.at;
        let value = if self.rest().starts_with('"') {
            self.phrase()?
        } else {
            let rest = self.rest();
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ']' || c == '}')
                .unwrap_or(rest.len());
            self.at += end;
            rest[..end].to_owned()
        };
        if value.is_empty() {
            return Err(QueryError::at(start, "expected a range bound"));
        }
        Ok((value != "*").then_some(value))
    }

    fn next(&mut self) -> Result<Option<(usize, Token)>, QueryError> {
        self.skip_spaces();
        let start = self.at;
        let Some(c) = self.peek_char() else {
            return Ok(None);
        };
        let simple = |lexer: &mut Self, length: usize, token: Token| {
            lexer.at += length;
            Ok(Some((start, token)))
        };
        match c {
            '(' => return simple(self, 1, Token::Open),
            ')' => return simple(self, 1, Token::Close),
            '"' => {}
            _ => {
                let rest = self.rest();
                for (keyword, token) in [
                    ("AND", Token::And),
                    ("OR", Token::Or),
                    ("NOT", Token::Not),
                    ("&&", Token::And),
                    ("||", Token::Or),
                ] {
                    if let Some(after) = rest.strip_prefix(keyword)
                        && after.chars().next().is_none_or(|next| {
                            next.is_whitespace() || next == '(' || keyword.len() == 2
                        })
                    {
                        return simple(self, keyword.len(), token);
                    }
                }
                if rest.len() > 1 {
                    match c {
                        '-' | '!' => return simple(self, 1, Token::Not),
                        '+' => return simple(self, 1, Token::Must),
                        _ => {}
                    }
                }
            }
        }
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES {
            return Err(QueryError::at(
                start,
                format!("too many clauses: at most {MAX_CLAUSES}"),
            ));
        }
        if c == '"' {
            let value = self.phrase()?;
            return Ok(Some((
                start,
                Token::Clause(Clause {
                    field: None,
                    value: ClauseValue::Phrase(value),
                    position: start,
                }),
            )));
        }
        // `field:` followed by a value, a phrase, a range or a comparison.
        let rest = self.rest();
        if let Some(colon) = rest.find(':')
            && is_field_name(&rest[..colon])
            && !rest[..colon].contains(char::is_whitespace)
        {
            let field = rest[..colon].to_owned();
            self.at += colon + 1;
            let value_start = self.at;
            let value = match self.peek_char() {
                Some('"') => ClauseValue::Phrase(self.phrase()?),
                Some('[' | '{') => self.range()?,
                Some('>' | '<') => {
                    let operator: String = self
                        .rest()
                        .chars()
                        .take_while(|c| matches!(c, '<' | '>' | '='))
                        .collect();
                    self.at += operator.len();
                    let bound = self.word();
                    if bound.is_empty() {
                        return Err(QueryError::at(value_start, "a comparison needs a value"));
                    }
                    match operator.as_str() {
                        ">" => ClauseValue::Range(Bound::Excluded(bound), Bound::Unbounded),
                        ">=" => ClauseValue::Range(Bound::Included(bound), Bound::Unbounded),
                        "<" => ClauseValue::Range(Bound::Unbounded, Bound::Excluded(bound)),
                        "<=" => ClauseValue::Range(Bound::Unbounded, Bound::Included(bound)),
                        _ => {
                            return Err(QueryError::at(
                                value_start,
                                format!("unknown comparison {operator:?}: use >, >=, < or <="),
                            ));
                        }
                    }
                }
                None => {
                    return Err(QueryError::at(
                        value_start,
                        format!("{field}: expects a value"),
                    ));
                }
                Some(c) if c.is_whitespace() || c == ')' || c == '(' => {
                    return Err(QueryError::at(
                        value_start,
                        format!("{field}: expects a value right after the colon"),
                    ));
                }
                Some(_) => ClauseValue::Word(self.word()),
            };
            return Ok(Some((
                start,
                Token::Clause(Clause {
                    field: Some(field),
                    value,
                    position: start,
                }),
            )));
        }
        let word = self.word();
        Ok(Some((
            start,
            Token::Clause(Clause {
                field: None,
                value: ClauseValue::Word(word),
                position: start,
            }),
        )))
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, token)| token)
    }

    fn position(&self) -> usize {
        self.tokens
            .get(self.at)
            .map_or(self.end, |(position, _)| *position)
    }

    /// `depth` counts levels of nesting: each parenthesis and each NOT or
    /// `+`/`-` prefix is one; at most [`MAX_DEPTH`].
    fn or(&mut self, depth: usize) -> Result<Ast, QueryError> {
        let mut parts = vec![self.and(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Ast::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Ast, QueryError> {
        let mut parts = vec![self.unary(depth)?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.at += 1;
                    parts.push(self.unary(depth)?);
                }
                Some(Token::Close | Token::Or) | None => break,
                Some(_) => parts.push(self.unary(depth)?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Ast::And(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Ast, QueryError> {
        let position = self.position();
        let token = self.tokens.get(self.at).map(|(_, token)| token.clone());
        if matches!(token, Some(Token::Not | Token::Must | Token::Open)) && depth >= MAX_DEPTH {
            return Err(QueryError::at(
                position,
                format!("nested too deeply: at most {MAX_DEPTH} levels"),
            ));
        }
        match token {
            Some(Token::Not) => {
                self.at += 1;
                Ok(Ast::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some(Token::Must) => {
                self.at += 1;
                self.unary(depth + 1)
            }
            Some(Token::Open) => {
                self.at += 1;
                if self.peek() == Some(&Token::Close) {
                    return Err(QueryError::at(position, "empty parentheses"));
                }
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err(QueryError::at(position, "this parenthesis is never closed"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Clause(clause)) => {
                self.at += 1;
                if clause.field.is_none() && clause.value == ClauseValue::Word("*".into()) {
                    return Ok(Ast::All);
                }
                Ok(Ast::Clause(clause))
            }
            Some(Token::Close) => Err(QueryError::at(position, "unexpected )")),
            Some(Token::And) => Err(QueryError::at(position, "AND needs something before it")),
            Some(Token::Or) => Err(QueryError::at(position, "OR needs something before it")),
            None => Err(QueryError::at(
                position,
                "the query ends where a term was expected",
            )),
        }
    }
}

/// Parses `text`. An empty query is [`Ast::All`].
pub fn parse(text: &str) -> Result<Ast, QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(QueryError::at(
            MAX_QUERY_BYTES,
            format!(
                "the query is {} bytes long: at most {MAX_QUERY_BYTES}",
                text.len()
            ),
        ));
    }
    let mut lexer = Lexer {
        text,
        at: 0,
        clauses: 0,
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next()? {
        tokens.push(token);
    }
    if tokens.is_empty() {
        return Ok(Ast::All);
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.len(),
    };
    let ast = parser.or(0)?;
    if parser.at < parser.tokens.len() {
        return Err(QueryError::at(parser.position(), "unexpected )"));
    }
    Ok(ast)
}

/// What a field name resolves to.
enum Target {
    Text(Field),
    Raw(Field),
    /// The source's path or its configured name.
    Source,
    /// An event id.
    Id,
    Number(Field),
    Attribute(String),
}

fn target(fields: &Fields, name: Option<&str>) -> Target {
    match name {
        None | Some("body" | "message" | "msg") => Target::Text(fields.body),
        Some("parse_error") => Target::Text(fields.parse_error),
        Some("host") => Target::Raw(fields.host),
        Some("source") => Target::Source,
        Some("service") => Target::Raw(fields.service),
        Some("level") => Target::Raw(fields.level),
        Some("file") => Target::Raw(fields.file),
        Some("id") => Target::Id,
        Some("severity") => Target::Number(fields.severity),
        Some("offset") => Target::Number(fields.offset),
        Some(other) => Target::Attribute(
            other
                .strip_prefix("attributes.")
                .unwrap_or(other)
                .to_owned(),
        ),
    }
}

/// A `*`/`?` pattern as an anchored regex over literal text.
fn wildcard_regex(pattern: &str, lowercase: bool) -> String {
    let mut regex = String::new();
    for c in pattern.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c => {
                let c = if lowercase {
                    c.to_lowercase().next().unwrap_or(c)
                } else {
                    c
                };
                regex.push_str(&regex_escape(c));
            }
        }
    }
    regex
}

fn regex_escape(c: char) -> String {
    if c.is_alphanumeric() || c == '_' {
        c.to_string()
    } else {
        format!("\\{c}")
    }
}

fn is_wildcard(word: &str) -> bool {
    word.contains(['*', '?'])
}

/// How many clauses of `ast` expand to many terms (wildcards and ranges):
/// each builds a bitset per segment while it runs.
pub fn multi_term_clauses(ast: &Ast) -> usize {
    match ast {
        Ast::All => 0,
        Ast::And(parts) | Ast::Or(parts) => parts.iter().map(multi_term_clauses).sum(),
        Ast::Not(inner) => multi_term_clauses(inner),
        Ast::Clause(clause) => match &clause.value {
            ClauseValue::Word(word) => usize::from(is_wildcard(word)),
            ClauseValue::Phrase(_) => 0,
            ClauseValue::Range(..) => 1,
        },
    }
}

/// Turns a parsed query into a tantivy query over the schema's fields.
pub fn compile(
    ast: &Ast,
    fields: &Fields,
    analyzer: &mut TextAnalyzer,
) -> Result<Box<dyn Query>, QueryError> {
    compile_under(ast, fields, analyzer, None)
}

/// [`compile`], with each wildcard and range clause guarded by `control`
/// (see [`crate::control`]): a query of many such clauses then stops
/// between any two of them, not only between segments.
pub fn compile_under(
    ast: &Ast,
    fields: &Fields,
    analyzer: &mut TextAnalyzer,
    control: Option<&Arc<Control>>,
) -> Result<Box<dyn Query>, QueryError> {
    let compile =
        |ast: &Ast, analyzer: &mut TextAnalyzer| compile_under(ast, fields, analyzer, control);
    Ok(match ast {
        Ast::All => Box::new(AllQuery),
        Ast::And(parts) => {
            let mut clauses = Vec::new();
            for part in parts {
                match part {
                    Ast::Not(inner) => clauses.push((Occur::MustNot, compile(inner, analyzer)?)),
                    other => clauses.push((Occur::Must, compile(other, analyzer)?)),
                }
            }
            if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Ast::Or(parts) => {
            let mut clauses = Vec::new();
            for part in parts {
                clauses.push((Occur::Should, compile(part, analyzer)?));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Ast::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery)),
            (Occur::MustNot, compile(inner, analyzer)?),
        ])),
        Ast::Clause(clause) => {
            let query = compile_clause(clause, fields, analyzer)?;
            match control {
                Some(control) if multi_term_clauses(ast) > 0 => {
                    Box::new(Guarded::new(query, control.clone(), 1))
                }
                _ => query,
            }
        }
    })
}

/// How much of a body is searched for highlights: a page of huge lines
/// must not cost seconds (the UI shows 10 KB of a line until asked).
pub const HIGHLIGHT_BYTES: usize = 64 << 10;

/// What a query looks for in bodies, to mark it in results: the words of
/// its body clauses (not those under NOT), as the index has them
/// (lower-cased), and its wildcard patterns.
#[derive(Debug, Default, Clone)]
pub struct Highlighter {
    words: std::collections::HashSet<String>,
    patterns: Vec<Vec<char>>,
}

impl Highlighter {
    /// The body words and patterns of `ast`.
    pub fn new(ast: &Ast, analyzer: &mut TextAnalyzer) -> Self {
        let mut highlighter = Highlighter::default();
        highlighter.collect(ast, analyzer);
        highlighter
    }

    fn collect(&mut self, ast: &Ast, analyzer: &mut TextAnalyzer) {
        match ast {
            Ast::All | Ast::Not(_) => {}
            Ast::And(parts) | Ast::Or(parts) => {
                for part in parts {
                    self.collect(part, analyzer);
                }
            }
            Ast::Clause(clause) => {
                if !matches!(
                    clause.field.as_deref(),
                    None | Some("body" | "message" | "msg")
                ) {
                    return;
                }
                match &clause.value {
                    ClauseValue::Word(word) if is_wildcard(word) => {
                        self.patterns.push(word.to_lowercase().chars().collect());
                    }
                    ClauseValue::Word(text) | ClauseValue::Phrase(text) => {
                        self.words.extend(tokens(analyzer, text));
                    }
                    ClauseValue::Range(..) => {}
                }
            }
        }
    }

    /// Whether there is nothing to mark.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.patterns.is_empty()
    }

    /// Byte ranges `[start, end)` of `body` (within its first
    /// [`HIGHLIGHT_BYTES`]) whose tokens the query looks for, in order.
    pub fn ranges(&self, analyzer: &mut TextAnalyzer, body: &str) -> Vec<[usize; 2]> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut end = body.len().min(HIGHLIGHT_BYTES);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(&body[..end]);
        stream.process(&mut |token| {
            if self.words.contains(&token.text)
                || self
                    .patterns
                    .iter()
                    .any(|pattern| glob(pattern, &token.text.chars().collect::<Vec<_>>()))
            {
                out.push([token.offset_from, token.offset_to]);
            }
        });
        out
    }
}

/// `*` and `?` matching over whole tokens.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(at) = star {
            p = at + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    stream.process(&mut |token| out.push(token.text.clone()));
    out
}

fn text_query(words: Vec<String>, make: impl Fn(&str) -> Term) -> Box<dyn Query> {
    match words.len() {
        0 => Box::new(EmptyQuery),
        1 => Box::new(TermQuery::new(make(&words[0]), IndexRecordOption::Basic)),
        _ => Box::new(PhraseQuery::new(
            words.iter().map(|word| make(word)).collect(),
        )),
    }
}

fn compile_clause(
    clause: &Clause,
    fields: &Fields,
    analyzer: &mut TextAnalyzer,
) -> Result<Box<dyn Query>, QueryError> {
    let position = clause.position;
    let name = clause.field.as_deref().unwrap_or("body");
    match (target(fields, clause.field.as_deref()), &clause.value) {
        (Target::Text(field), ClauseValue::Word(word)) if is_wildcard(word) => {
            wildcard(field, "", word, true, position)
        }
        (Target::Text(field), ClauseValue::Word(text) | ClauseValue::Phrase(text)) => {
            let words = tokens(analyzer, text);
            Ok(text_query(words, |word| Term::from_field_text(field, word)))
        }
        // `source:` finds the path or the source's name (`source:nginx`,
        // `source:/var/log/*.log`).
        (Target::Source, value) => Ok(Box::new(BooleanQuery::union(vec![
            raw_query(fields.source, value, position)?,
            Box::new(InSchema {
                field: SOURCE_NAME,
                value: value.clone(),
                position,
            }),
        ]))),
        // A level word finds every spelling of its level: `level:error`
        // finds `ERROR`, `err`, `E` and `severe` (the severity number the
        // parser gave them), and the word as written. Quoted, a value is
        // taken exactly as written (`level:"ERROR"`), as the web UI's facet
        // filters and histogram stacks need.
        (Target::Raw(field), ClauseValue::Word(text)) if field == fields.level => {
            let written: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            ));
            Ok(match loghaul_model::level::from_word(text) {
                Some(number) => Box::new(tantivy::query::BooleanQuery::union(vec![
                    written,
                    Box::new(TermQuery::new(
                        Term::from_field_u64(fields.severity, u64::from(number)),
                        IndexRecordOption::Basic,
                    )),
                ])),
                None => written,
            })
        }
        (Target::Raw(field), value) => raw_query(field, value, position),
        (Target::Id, ClauseValue::Word(text) | ClauseValue::Phrase(text)) => {
            match text.parse::<EventId>() {
                Ok(id) if text.len() == 32 => Ok(Box::new(IdQuery(id))),
                _ => Err(QueryError::at(
                    position,
                    format!("id: takes a whole event id, 32 hex digits, not {text:?}"),
                )),
            }
        }
        (Target::Id, ClauseValue::Range(..)) => Err(QueryError::at(
            position,
            "id: takes a whole event id, 32 hex digits, not a range",
        )),
        (Target::Text(_), ClauseValue::Range(..)) => Err(QueryError::at(
            position,
            format!("{name} is full text: ranges work on raw fields, numbers and attributes"),
        )),
        (Target::Number(field), value) => {
            let number = |text: &str| {
                text.parse::<u64>()
                    .map(|value| Term::from_field_u64(field, value))
                    .map_err(|_| {
                        QueryError::at(
                            position,
                            format!("{name} takes a whole number, not {text:?}"),
                        )
                    })
            };
            match value {
                // New days keep offsets in their fast column only: one
                // value is the range from it to itself there.
                ClauseValue::Word(text) | ClauseValue::Phrase(text) if field == fields.offset => {
                    Ok(Box::new(one_value(number(text)?)))
                }
                ClauseValue::Word(text) | ClauseValue::Phrase(text) => Ok(Box::new(
                    TermQuery::new(number(text)?, IndexRecordOption::Basic),
                )),
                ClauseValue::Range(low, high) => Ok(Box::new(RangeQuery::new(
                    map_bound(low, number)?,
                    map_bound(high, number)?,
                ))),
            }
        }
        (Target::Attribute(path), value) => {
            attribute_query(fields, &path, value, position, analyzer)
        }
    }
}

fn map_bound(
    bound: &Bound<String>,
    make: impl Fn(&str) -> Result<Term, QueryError>,
) -> Result<Bound<Term>, QueryError> {
    Ok(match bound {
        Bound::Included(text) => Bound::Included(make(text)?),
        Bound::Excluded(text) => Bound::Excluded(make(text)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// A wildcard over `field`'s terms that start with the regex `prefix`
/// (empty for plain fields).
/// A clause on a raw (untokenised) field: a term, a wildcard or a range.
fn raw_query(
    field: Field,
    value: &ClauseValue,
    position: usize,
) -> Result<Box<dyn Query>, QueryError> {
    match value {
        ClauseValue::Word(word) if is_wildcard(word) => wildcard(field, "", word, false, position),
        ClauseValue::Word(text) | ClauseValue::Phrase(text) => Ok(Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::Basic,
        ))),
        ClauseValue::Range(low, high) => Ok(Box::new(RangeQuery::new(
            map_bound(low, |text| Ok(Term::from_field_text(field, text)))?,
            map_bound(high, |text| Ok(Term::from_field_text(field, text)))?,
        ))),
    }
}

/// The field of sources' names, which day indexes written before
/// 2026-11-30 lack.
const SOURCE_NAME: &str = "source_name";

/// The documents whose fast column holds `term`'s value: for fields kept
/// without terms.
fn one_value(term: Term) -> RangeQuery {
    RangeQuery::new(Bound::Included(term.clone()), Bound::Included(term))
}

/// The event with an id, by the day's schema: its key's column (`id_key`)
/// where the day has one, its text where older days indexed that.
#[derive(Clone, Debug)]
pub(crate) struct IdQuery(pub(crate) EventId);

impl Query for IdQuery {
    fn weight(
        &self,
        enable_scoring: tantivy::query::EnableScoring<'_>,
    ) -> tantivy::Result<Box<dyn tantivy::query::Weight>> {
        let schema = enable_scoring.schema();
        match (schema.get_field("id_key"), schema.get_field("id")) {
            // The key's fast column, scanned for the one value.
            (Ok(field), _) => one_value(Term::from_field_u64(field, crate::schema::id_key(self.0)))
                .weight(enable_scoring),
            (Err(_), Ok(field)) => TermQuery::new(
                Term::from_field_text(field, &self.0.to_string()),
                IndexRecordOption::Basic,
            )
            .weight(enable_scoring),
            (Err(_), Err(_)) => EmptyQuery.weight(enable_scoring),
        }
    }
}

/// A raw-field clause on a field found by name in the schema of the index
/// searched, and matching nothing where that index lacks the field: days
/// written by older builds keep their schema.
#[derive(Clone, Debug)]
struct InSchema {
    field: &'static str,
    value: ClauseValue,
    position: usize,
}

impl Query for InSchema {
    fn weight(
        &self,
        enable_scoring: tantivy::query::EnableScoring<'_>,
    ) -> tantivy::Result<Box<dyn tantivy::query::Weight>> {
        match enable_scoring.schema().get_field(self.field) {
            Ok(field) => raw_query(field, &self.value, self.position)
                .map_err(|error| tantivy::TantivyError::InvalidArgument(error.to_string()))?
                .weight(enable_scoring),
            Err(_) => EmptyQuery.weight(enable_scoring),
        }
    }
}

fn wildcard(
    field: Field,
    prefix: &str,
    pattern: &str,
    lowercase: bool,
    position: usize,
) -> Result<Box<dyn Query>, QueryError> {
    if pattern.len() > MAX_WILDCARD_BYTES {
        return Err(QueryError::at(
            position,
            format!("wildcard patterns are limited to {MAX_WILDCARD_BYTES} bytes"),
        ));
    }
    if prefix.is_empty() && pattern.chars().all(|c| c == '*' || c == '?') && pattern.contains('*') {
        return Ok(Box::new(AllQuery));
    }
    let regex = format!("{prefix}{}", wildcard_regex(pattern, lowercase));
    RegexQuery::from_pattern(&regex, field)
        .map(|query| Box::new(query) as Box<dyn Query>)
        .map_err(|error| {
            let text = error.to_string();
            if text.contains("exceeds size limit") {
                QueryError::at(
                    position,
                    format!(
                        "this wildcard is too complex: it needs more than {MAX_WILDCARD_STATES} automaton states; use fewer ? after a *, or more literal text"
                    ),
                )
            } else {
                QueryError::at(position, format!("bad wildcard: {text}"))
            }
        })
}

fn json_term(fields: &Fields, path: &str) -> Term {
    Term::from_field_json_path(fields.attributes, path, false)
}

fn attribute_query(
    fields: &Fields,
    path: &str,
    value: &ClauseValue,
    position: usize,
    analyzer: &mut TextAnalyzer,
) -> Result<Box<dyn Query>, QueryError> {
    match value {
        ClauseValue::Word(word) if is_wildcard(word) => {
            // The attributes' term dictionary holds `path \0 s value` for text:
            // match that prefix exactly, then the pattern (text is lower-cased
            // when indexed, so the pattern is too).
            let mut prefix = json_term(fields, path);
            prefix.append_type_and_str("");
            let mut regex = String::new();
            for byte in prefix.serialized_value_bytes() {
                if byte.is_ascii_alphanumeric() || *byte == b'_' {
                    regex.push(char::from(*byte));
                } else {
                    regex.push_str(&format!("\\x{byte:02x}"));
                }
            }
            wildcard(fields.attributes, &regex, word, true, position)
        }
        ClauseValue::Word(text) | ClauseValue::Phrase(text) => {
            let mut alternatives: Vec<Box<dyn Query>> = Vec::new();
            for term in number_terms(fields, path, text) {
                alternatives.push(Box::new(TermQuery::new(term, IndexRecordOption::Basic)));
            }
            let words = tokens(analyzer, text);
            if !words.is_empty() {
                alternatives.push(text_query(words, |word| {
                    let mut term = json_term(fields, path);
                    term.append_type_and_str(word);
                    term
                }));
            }
            Ok(match alternatives.len() {
                0 => Box::new(EmptyQuery),
                1 => alternatives.remove(0),
                _ => Box::new(BooleanQuery::union(alternatives)),
            })
        }
        ClauseValue::Range(low, high) => {
            let bound_value = |bound: &Bound<String>| match bound {
                Bound::Included(text) | Bound::Excluded(text) => Some(text.clone()),
                Bound::Unbounded => None,
            };
            let sample = bound_value(low)
                .or_else(|| bound_value(high))
                .unwrap_or_default();
            let numeric = |text: &str| -> Result<Term, QueryError> {
                let mut term = json_term(fields, path);
                if let Ok(value) = text.parse::<i64>() {
                    term.append_type_and_fast_value(value);
                } else if let Ok(value) = text.parse::<f64>() {
                    term.append_type_and_fast_value(value);
                } else {
                    return Err(QueryError::at(
                        position,
                        format!("range on {path}: {text:?} is not a number"),
                    ));
                }
                Ok(term)
            };
            if sample.parse::<f64>().is_ok() {
                // Whole numbers are indexed as i64 or u64, fractions as f64:
                // a numeric range covers the whole-number spelling.
                Ok(Box::new(RangeQuery::new(
                    map_bound(low, numeric)?,
                    map_bound(high, numeric)?,
                )))
            } else {
                let text_term = |text: &str| {
                    let mut term = json_term(fields, path);
                    term.append_type_and_str(text);
                    Ok(term)
                };
                Ok(Box::new(RangeQuery::new(
                    map_bound(low, text_term)?,
                    map_bound(high, text_term)?,
                )))
            }
        }
    }
}

fn number_terms(fields: &Fields, path: &str, text: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    if let Ok(value) = text.parse::<i64>() {
        let mut term = json_term(fields, path);
        term.append_type_and_fast_value(value);
        terms.push(term);
        if let Ok(unsigned) = u64::try_from(value) {
            let mut term = json_term(fields, path);
            term.append_type_and_fast_value(unsigned);
            terms.push(term);
        }
    }
    if let Ok(value) = text.parse::<f64>() {
        let mut term = json_term(fields, path);
        term.append_type_and_fast_value(value);
        terms.push(term);
    }
    match text {
        "true" | "false" => {
            let mut term = json_term(fields, path);
            term.append_type_and_fast_value(text == "true");
            terms.push(term);
        }
        _ => {}
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_mark_the_body_words_not_the_negated_or_other_fields() {
        let mut analyzer = tantivy::tokenizer::TokenizerManager::default()
            .get("default")
            .expect("analyzer");
        let ast = parse(r#"Timeout AND "connection reset" AND -debug AND host:timeout AND pay*"#)
            .expect("query");
        let highlighter = Highlighter::new(&ast, &mut analyzer);
        let body = "payment timeout: connection was reset by peer, debug on";
        let marked: Vec<&str> = highlighter
            .ranges(&mut analyzer, body)
            .iter()
            .map(|[start, end]| &body[*start..*end])
            .collect();
        assert_eq!(marked, ["payment", "timeout", "connection", "reset"]);
        let all = Highlighter::new(&parse("*").expect("all"), &mut analyzer);
        assert!(all.ranges(&mut analyzer, body).is_empty());
        // Offsets are bytes of the UTF-8 body.
        let body = "héllo timeout";
        let ranges = highlighter.ranges(&mut analyzer, body);
        assert_eq!(ranges, [[7, 14]]);
        assert!(glob(&['a', '*', 'c', '?'], &['a', 'b', 'b', 'c', 'd']));
        assert!(!glob(&['a', '*', 'c'], &['a', 'b', 'd']));
    }

    fn error(text: &str) -> QueryError {
        parse(text).expect_err("must be refused")
    }

    #[test]
    fn shapes() {
        assert_eq!(parse(""), Ok(Ast::All));
        assert_eq!(parse("*"), Ok(Ast::All));
        let Ok(Ast::And(parts)) = parse("level:ERROR timeout -host:web-1") else {
            panic!("an AND of three");
        };
        assert_eq!(parts.len(), 3);
        assert!(matches!(parts[2], Ast::Not(_)));
        let Ok(Ast::Or(parts)) = parse("a OR (b AND \"c d\")") else {
            panic!("an OR");
        };
        assert!(matches!(parts[1], Ast::And(_)));
        let Ok(Ast::Clause(clause)) = parse("status:[500 TO 599}") else {
            panic!("a clause");
        };
        assert_eq!(
            clause.value,
            ClauseValue::Range(Bound::Included("500".into()), Bound::Excluded("599".into()))
        );
        let Ok(Ast::Clause(clause)) = parse("severity:>=17") else {
            panic!("a clause");
        };
        assert_eq!(
            clause.value,
            ClauseValue::Range(Bound::Included("17".into()), Bound::Unbounded)
        );
        // A colon that does not follow a field name is part of the word.
        let Ok(Ast::Clause(clause)) = parse("10.0.0.1:8080") else {
            panic!("a clause");
        };
        assert_eq!(clause.field, None);
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(error("level:ERROR \"unclosed").position, 12);
        assert_eq!(error("a AND (b OR c").position, 6);
        assert_eq!(error("a )").position, 2);
        assert_eq!(error("OR a").position, 0);
        assert_eq!(error("a AND").position, 5);
        assert_eq!(error("status:[500 599]").position, 12);
        assert_eq!(error("host: web").position, 5);
        let deep = format!("{}x{}", "(".repeat(100), ")".repeat(100));
        let nested = error(&deep);
        assert!(nested.message.contains("nested too deeply"), "{nested:?}");
        // Exactly MAX_DEPTH levels pass, one more is refused at its place.
        let levels = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&levels(MAX_DEPTH)).is_ok());
        assert_eq!(error(&levels(MAX_DEPTH + 1)).position, MAX_DEPTH);
        let nots = format!("{}x", "NOT ".repeat(MAX_DEPTH));
        assert!(parse(&nots).is_ok());
        assert!(
            error(&format!("-{nots}"))
                .message
                .contains("nested too deeply")
        );
        let long = "a ".repeat(3000);
        assert!(error(&long).message.contains("bytes long"));
        let many = "a ".repeat(300);
        assert!(error(&many).message.contains("too many clauses"));
        let rendered = error("a AND (b").render("a AND (b");
        assert!(rendered.contains("column 7"), "{rendered}");
        // `id:` takes a whole id: a part or a pattern cannot be looked up
        // by its key, so it is refused where it stands.
        let compile_error = |text: &str| {
            let ast = parse(text).expect("parses");
            compile(
                &ast,
                &Fields::new(),
                &mut crate::search::analyzer().expect("analyzer"),
            )
            .expect_err("refused")
        };
        for text in [
            "level:ERROR id:abc",
            "level:ERROR id:abc*",
            "level:ERROR id:[1 TO 2]",
        ] {
            let refused = compile_error(text);
            assert_eq!(refused.position, 12, "{text}");
            assert!(refused.message.contains("32 hex digits"), "{refused:?}");
        }
        assert!(rendered.ends_with("      ^"), "{rendered}");
    }
}
