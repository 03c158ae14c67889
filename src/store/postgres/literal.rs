//! Statements as text with their parameters inlined as SQL literals, for the simple query
//! protocol: several statements in one message, answered in one round trip (the one-trip
//! duplicate check, and a transaction's deferred writes in [`super::tx::PgTx`]).
//!
//! Every literal reads the same whatever the session's `standard_conforming_strings` is
//! (PgBouncer in transaction mode hands out server connections whose settings we do not own):
//! text is an escape string (`E'...'`), bytes are `decode('<hex>', 'hex')`, numbers are quoted
//! and cast. The value is taken from the same `ToSql` encoding the extended protocol would send,
//! so one parameter list serves both forms.

use bytes::BytesMut;
use postgres::types::{IsNull, Type};

use super::tx::Params;

/// `s` as an SQL string literal: an escape string (`E'...'`), so it reads the same whatever
/// `standard_conforming_strings` is; backslashes and quotes doubled. `None` for a NUL, which
/// no PostgreSQL text value can hold (the parameterized form reports the server's error).
pub(super) fn text(s: &str) -> Option<String> {
    if s.contains('\0') {
        return None;
    }
    Some(format!(
        "E'{}'",
        s.replace('\\', "\\\\").replace('\'', "''")
    ))
}

/// `sql` with each `$n` replaced by parameter `n` as a literal. `None` when a parameter has
/// no literal form here (a type not listed in [`value`], a NUL in text, an encoding error):
/// the caller then sends the statement with bound parameters instead.
///
/// `sql` must be one of the store's own statements: `$` appears only as a placeholder.
pub(super) fn render(sql: &str, params: &Params<'_>) -> Option<String> {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - at - 1);
        let n: usize = rest[at + 1..at + 1 + digits].parse().ok()?;
        let (v, ty) = params.get(n.checked_sub(1)?)?;
        out.push_str(&value(*v, ty)?);
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    Some(out)
}

/// One parameter as a literal of type `ty` (`NULL::ty` for a null).
fn value(v: &(dyn postgres::types::ToSql + Sync), ty: &Type) -> Option<String> {
    let mut buf = BytesMut::new();
    if let IsNull::Yes = v.to_sql_checked(ty, &mut buf).ok()? {
        return Some(format!("NULL::{}", ty.name()));
    }
    let b = &buf[..];
    Some(match *ty {
        Type::TEXT | Type::VARCHAR => {
            format!("{}::{}", text(std::str::from_utf8(b).ok()?)?, ty.name())
        }
        Type::INT8 => format!("'{}'::int8", i64::from_be_bytes(b.try_into().ok()?)),
        Type::INT4 => format!("'{}'::int4", i32::from_be_bytes(b.try_into().ok()?)),
        Type::BOOL => (if b.first()? != &0 { "true" } else { "false" }).to_owned(),
        Type::BYTEA => bytea(b),
        _ => return None,
    })
}

/// Bytes as a `bytea` literal in the escape format, inside an escape string: printable ASCII
/// (and tab, newline, carriage return) as itself, every other byte as an octal escape. The
/// SQL text stays ASCII, so no client or server encoding can alter a byte.
///
/// Why not hex: the server's lexer scans every character of a statement, and a raw body is
/// the bulk of a batch's `COMMIT` text. A JSON body is almost all printable ASCII, so this
/// form is about half the characters of hex (two per byte).
fn bytea(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + b.len() / 8 + 16);
    out.push_str("E'");
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\\\\\"),
            b'\'' => out.push_str("''"),
            b'\t' | b'\n' | b'\r' | 0x20..=0x7e => out.push(char::from(byte)),
            _ => {
                out.push_str("\\\\");
                for shift in [6, 3, 0] {
                    out.push(char::from(b'0' + ((byte >> shift) & 7)));
                }
            }
        }
    }
    out.push_str("'::bytea");
    out
}

#[cfg(test)]
mod tests {
    use super::super::tx::{BOOL, BYTEA, INT8, TEXT};
    use super::*;

    #[test]
    fn text_doubles_quotes_and_backslashes_inside_an_escape_string() {
        assert_eq!(text("evt_plain").unwrap(), "E'evt_plain'");
        assert_eq!(
            text("x'; DROP TABLE events; --").unwrap(),
            "E'x''; DROP TABLE events; --'"
        );
        assert_eq!(text("a\\'b").unwrap(), "E'a\\\\''b'");
        assert_eq!(text("nul\0"), None);
    }

    #[test]
    fn render_inlines_each_placeholder_by_number() {
        let (id, n, yes, none): (&str, i64, bool, Option<&str>) = ("it's", -42, true, None);
        let body: &[u8] = &[0x00, 0xff, b'\''];
        let sql = render(
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $10)",
            &[
                (&id, TEXT),
                (&n, INT8),
                (&yes, BOOL),
                (&none, TEXT),
                (&body, BYTEA),
                (&n, INT8),
                (&n, INT8),
                (&n, INT8),
                (&n, INT8),
                (&7i64, INT8),
            ],
        )
        .unwrap();
        assert_eq!(
            sql,
            "INSERT INTO t VALUES (E'it''s'::text, '-42'::int8, true, NULL::text, \
             E'\\\\000\\\\377'''::bytea, '7'::int8)"
        );
    }

    #[test]
    fn bytea_keeps_printable_ascii_and_escapes_every_other_byte_in_octal() {
        assert_eq!(bytea(b"{\"a\":\n1}"), "E'{\"a\":\n1}'::bytea");
        assert_eq!(bytea(b"\\'"), "E'\\\\\\\\'''::bytea");
        assert_eq!(
            bytea(&[0, 0x7f, 0xc3, 0xa9]),
            "E'\\\\000\\\\177\\\\303\\\\251'::bytea"
        );
        // Whatever the bytes, the SQL text is ASCII.
        let all: Vec<u8> = (0..=255).collect();
        assert!(bytea(&all).is_ascii());
    }

    #[test]
    fn render_declines_what_it_cannot_write_as_a_literal() {
        let nul = "a\0b";
        assert_eq!(render("SELECT $1", &[(&nul, TEXT)]), None);
        // A placeholder with no parameter, and a value of the wrong type.
        assert_eq!(render("SELECT $2", &[(&1i64, INT8)]), None);
        assert_eq!(render("SELECT $1", &[(&"x", INT8)]), None);
        let f = 1.5f64;
        assert_eq!(render("SELECT $1", &[(&f, Type::FLOAT8)]), None);
    }
}
