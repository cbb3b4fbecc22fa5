//! Object locks (Evennia's `obj.locks`): a lock string `type:expr;type:expr` whose access types
//! (`get`, `traverse`, `puppet`, `control`, `edit`, `delete`, `call`, `view`, ...) each hold an
//! expression of lock functions combined with `and`, `or`, `not` and parentheses. It reads lock
//! strings with the command locks' tokenizer ([`super::tokenize`]) but, unlike a command's lock
//! (which passes when it cannot be read, so a typo cannot lock players out of a command), an
//! object's lock string is checked when it is set: an unknown lock function, a malformed
//! expression or one nested deeper than [`MAX_DEPTH`] is refused with the reason.
//!
//! The lock functions are Evennia's (`evennia/locks/lockfuncs.py`): `all()`/`true()`,
//! `false()`/`none()`, `superuser()`, `perm(X)`/`pperm(X)`, `perm_above(X)`/`pperm_above(X)`,
//! `id(N)`/`dbref(N)`, `pid(N)`/`pdbref(N)`, `attr(name[, value])` and `attr_eq`/`attr_ne`/
//! `attr_gt`/`attr_ge`/`attr_lt`/`attr_le`, `objattr(name[, value])`, `tag(key[, category])`,
//! `objtag(key[, category])`, `holds([id or key])`, `inside()`, `has_account()`. What they look at
//! comes from a [`LockEnv`] (the game's world), so the evaluator stays pure.

use super::{holds_permission, tokenize, Tok};

/// Deepest nesting of `not` and parentheses in one lock expression.
pub const MAX_DEPTH: usize = 32;

/// A comparison of an attribute's value (`attr_gt(name, value)`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Equal (as text, or as numbers when both are).
    Eq,
    /// Not equal.
    Ne,
    /// Greater.
    Gt,
    /// Greater or equal.
    Ge,
    /// Less.
    Lt,
    /// Less or equal.
    Le,
}

/// Whose attribute or tag a lock function reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The object (or account) asking for access (`attr`, `tag`).
    Accessor,
    /// The locked object itself (`objattr`, `objtag`).
    Locked,
}

/// One lock function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockFn {
    /// `all()`, `true()`.
    All,
    /// `false()`, `none()`.
    Never,
    /// `superuser()`.
    Superuser,
    /// `perm(X)` / `pperm(X)` (`above`: `perm_above`): the accessor's account holds X or higher.
    Perm {
        /// The permission named.
        perm: String,
        /// Strictly higher.
        above: bool,
    },
    /// `id(N)`, `dbref(N)`: the accessor is object (or account) N.
    Id(u64),
    /// `pid(N)`, `pdbref(N)`: the accessor's account is N.
    Pid(u64),
    /// `attr(name[, value])` and the `attr_*` comparisons; `objattr` on the locked object.
    Attr {
        /// Whose attribute.
        side: Side,
        /// The attribute's key.
        name: String,
        /// The value to compare with (None: the attribute exists).
        value: Option<String>,
        /// How to compare.
        cmp: Cmp,
    },
    /// `tag(key[, category])`, `objtag(key[, category])`.
    Tag {
        /// Whose tag.
        side: Side,
        /// The tag's key.
        key: String,
        /// Its category (None: the uncategorised tag).
        category: Option<String>,
    },
    /// `holds()`: the accessor carries the locked object; `holds(X)`: something with id or key X.
    Holds(Option<String>),
    /// `inside()`: the accessor is inside the locked object.
    Inside,
    /// `has_account()`: the accessor is puppeted by an account.
    HasAccount,
}

/// A parsed lock expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockExpr {
    /// One function.
    Fn(LockFn),
    /// Negation.
    Not(Box<LockExpr>),
    /// Both.
    And(Box<LockExpr>, Box<LockExpr>),
    /// Either.
    Or(Box<LockExpr>, Box<LockExpr>),
}

/// What the lock functions need to know about the accessor and the locked object.
pub trait LockEnv {
    /// The accessor's account is a superuser (Evennia's superuser bypass).
    fn superuser(&self) -> bool;
    /// The accessor's account's permission, if it has an account.
    fn permission(&self) -> Option<&str>;
    /// The accessor's own id (an object's, or an account's when an account asks).
    fn accessor_id(&self) -> Option<u64>;
    /// The accessor's account id.
    fn account_id(&self) -> Option<u64>;
    /// An attribute's value as text (the object's `side`).
    fn attr(&self, side: Side, name: &str) -> Option<String>;
    /// Whether the object on `side` has the tag.
    fn has_tag(&self, side: Side, key: &str, category: Option<&str>) -> bool;
    /// `holds()`: whether the accessor carries the locked object, or (with an argument) an
    /// object with that id (`#N` or `N`) or key.
    fn holds(&self, what: Option<&str>) -> bool;
    /// Whether the accessor is inside the locked object.
    fn inside(&self) -> bool;
    /// Whether the accessor is puppeted by an account.
    fn has_account(&self) -> bool;
}

impl LockExpr {
    /// Whether the accessor passes (superusers pass everything, as Evennia).
    pub fn allows(&self, env: &dyn LockEnv) -> bool {
        env.superuser() || self.eval(env)
    }

    fn eval(&self, env: &dyn LockEnv) -> bool {
        match self {
            LockExpr::Fn(f) => eval_fn(f, env),
            LockExpr::Not(a) => !a.eval(env),
            LockExpr::And(a, b) => a.eval(env) && b.eval(env),
            LockExpr::Or(a, b) => a.eval(env) || b.eval(env),
        }
    }
}

fn eval_fn(f: &LockFn, env: &dyn LockEnv) -> bool {
    match f {
        LockFn::All => true,
        LockFn::Never => false,
        LockFn::Superuser => env.superuser(),
        LockFn::Perm { perm, above } => holds_permission(env.permission(), perm, *above),
        LockFn::Id(n) => env.accessor_id() == Some(*n),
        LockFn::Pid(n) => env.account_id() == Some(*n),
        LockFn::Attr { side, name, value, cmp } => {
            let Some(have) = env.attr(*side, name) else { return false };
            match value {
                None => true,
                Some(want) => compare(&have, want, *cmp),
            }
        }
        LockFn::Tag { side, key, category } => env.has_tag(*side, key, category.as_deref()),
        LockFn::Holds(what) => env.holds(what.as_deref()),
        LockFn::Inside => env.inside(),
        LockFn::HasAccount => env.has_account(),
    }
}

/// Evennia's `attr_*` comparisons: as numbers when both sides are numbers, else as text (a JSON
/// string attribute compares by its content).
fn compare(have: &str, want: &str, cmp: Cmp) -> bool {
    let have = serde_json::from_str::<String>(have).unwrap_or_else(|_| have.to_string());
    let ord = match (have.trim().parse::<f64>(), want.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b),
        _ => Some(have.as_str().cmp(want)),
    };
    let Some(ord) = ord else { return false };
    use std::cmp::Ordering::*;
    match cmp {
        Cmp::Eq => ord == Equal,
        Cmp::Ne => ord != Equal,
        Cmp::Gt => ord == Greater,
        Cmp::Ge => ord != Less,
        Cmp::Lt => ord == Less,
        Cmp::Le => ord != Greater,
    }
}

/// One access type of a lock string, as set on an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The access type, lower case (`get`, `traverse`, ...).
    pub access_type: String,
    /// The expression as written (for `examine` and `locks`).
    pub source: String,
    /// The parsed expression.
    pub expr: LockExpr,
}

impl Lock {
    /// `type:expr` as Evennia shows a lock.
    pub fn to_lockstring(&self) -> String {
        format!("{}:{}", self.access_type, self.source)
    }
}

/// Parse a lock string (`get:false();traverse:perm(Builder)`): each part an access type and its
/// expression. An empty part is skipped; anything unreadable is an `Err` naming it.
pub fn parse_lockstring(text: &str) -> Result<Vec<Lock>, String> {
    let mut out: Vec<Lock> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((kind, expr)) = part.split_once(':') else {
            return Err(format!("Lock: '{part}' has no access type (type:expression)."));
        };
        let kind = kind.trim().to_lowercase();
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("Lock: '{kind}' is not an access type."));
        }
        let expr = parse_expr(expr).map_err(|e| format!("Lock: {kind}: {e}"))?;
        let source = part.split_once(':').map(|(_, e)| e.trim()).unwrap_or_default().to_string();
        // A later part of the same type replaces an earlier one, as Evennia's `locks.add`.
        out.retain(|l| l.access_type != kind);
        out.push(Lock { access_type: kind, source, expr });
    }
    Ok(out)
}

/// Parse one lock expression (`perm(Builder) or id(5)`).
pub fn parse_expr(expr: &str) -> Result<LockExpr, String> {
    let tokens = tokenize(expr);
    if tokens.is_empty() {
        return Err("the expression is empty".into());
    }
    let mut pos = 0;
    let lock = parse_or(&tokens, &mut pos, 0)?;
    if pos != tokens.len() {
        return Err(format!("cannot read '{}'", expr.trim()));
    }
    Ok(lock)
}

fn parse_or(t: &[Tok], pos: &mut usize, depth: usize) -> Result<LockExpr, String> {
    let mut left = parse_and(t, pos, depth)?;
    while matches!(t.get(*pos), Some(Tok::Word(w)) if w == "or") {
        *pos += 1;
        left = LockExpr::Or(Box::new(left), Box::new(parse_and(t, pos, depth)?));
    }
    Ok(left)
}

fn parse_and(t: &[Tok], pos: &mut usize, depth: usize) -> Result<LockExpr, String> {
    let mut left = parse_not(t, pos, depth)?;
    while matches!(t.get(*pos), Some(Tok::Word(w)) if w == "and") {
        *pos += 1;
        left = LockExpr::And(Box::new(left), Box::new(parse_not(t, pos, depth)?));
    }
    Ok(left)
}

fn parse_not(t: &[Tok], pos: &mut usize, depth: usize) -> Result<LockExpr, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH}"));
    }
    match t.get(*pos) {
        Some(Tok::Word(w)) if w == "not" => {
            *pos += 1;
            Ok(LockExpr::Not(Box::new(parse_not(t, pos, depth + 1)?)))
        }
        Some(Tok::Open) => {
            *pos += 1;
            let inner = parse_or(t, pos, depth + 1)?;
            if !matches!(t.get(*pos), Some(Tok::Close)) {
                return Err("a '(' is not closed".into());
            }
            *pos += 1;
            Ok(inner)
        }
        Some(Tok::Call(func, arg)) => {
            *pos += 1;
            Ok(LockExpr::Fn(lock_fn(func, arg)?))
        }
        Some(Tok::Word(w)) => Err(format!("'{w}' is not a lock function call")),
        Some(Tok::Close) => Err("unexpected ')'".into()),
        None => Err("the expression ends too early".into()),
    }
}

/// The arguments of a call, split on commas, each trimmed of spaces and quotes.
fn call_args(arg: &str) -> Vec<String> {
    if arg.trim().is_empty() {
        return vec![];
    }
    arg.split(',')
        .map(|a| a.trim().trim_matches(|c| c == '"' || c == '\'').trim().to_string())
        .collect()
}

fn lock_fn(func: &str, arg: &str) -> Result<LockFn, String> {
    let args = call_args(arg);
    let arity = |min: usize, max: usize| {
        if args.len() < min || args.len() > max {
            Err(format!("{func}() takes {min} to {max} arguments, not {}", args.len()))
        } else {
            Ok(())
        }
    };
    let id = |what: &str| -> Result<u64, String> {
        what.trim_start_matches('#').parse().map_err(|_| format!("{func}(): '{what}' is not an id"))
    };
    let attr = |side, cmp| -> Result<LockFn, String> {
        arity(1, 2)?;
        Ok(LockFn::Attr { side, name: args[0].clone(), value: args.get(1).cloned(), cmp })
    };
    let tag = |side| -> Result<LockFn, String> {
        arity(1, 2)?;
        Ok(LockFn::Tag { side, key: args[0].clone(), category: args.get(1).cloned() })
    };
    let perm = |above| -> Result<LockFn, String> {
        arity(1, 1)?;
        let p = &args[0];
        let perm = super::permission_name(p).map(str::to_string).unwrap_or_else(|| p.clone());
        Ok(LockFn::Perm { perm, above })
    };
    Ok(match func {
        "all" | "true" => LockFn::All,
        "false" | "none" => LockFn::Never,
        "superuser" => LockFn::Superuser,
        "perm" | "pperm" => perm(false)?,
        "perm_above" | "pperm_above" => perm(true)?,
        "id" | "dbref" => {
            arity(1, 1)?;
            LockFn::Id(id(&args[0])?)
        }
        "pid" | "pdbref" => {
            arity(1, 1)?;
            LockFn::Pid(id(&args[0])?)
        }
        "attr" | "attr_eq" => attr(Side::Accessor, Cmp::Eq)?,
        "attr_ne" => attr(Side::Accessor, Cmp::Ne)?,
        "attr_gt" => attr(Side::Accessor, Cmp::Gt)?,
        "attr_ge" => attr(Side::Accessor, Cmp::Ge)?,
        "attr_lt" => attr(Side::Accessor, Cmp::Lt)?,
        "attr_le" => attr(Side::Accessor, Cmp::Le)?,
        "objattr" => attr(Side::Locked, Cmp::Eq)?,
        "tag" => tag(Side::Accessor)?,
        "objtag" => tag(Side::Locked)?,
        "holds" => {
            arity(0, 1)?;
            LockFn::Holds(args.first().cloned())
        }
        "inside" => LockFn::Inside,
        "has_account" => LockFn::HasAccount,
        other => return Err(format!("unknown lock function '{other}()'")),
    })
}

/// Evennia's default locks of a new object of `kind` (DefaultObject, DefaultCharacter,
/// DefaultRoom, DefaultExit `basetype_setup`), for access types the object has no lock of its
/// own for. They are not stored with each object (an object without locks costs nothing): they
/// apply by kind. A character's `puppet`, `delete` and `edit` name its owner account (`owner`),
/// as `DefaultCharacter.create` sets them.
pub fn default_lockstring(kind: &str, id: u64, owner: Option<u64>) -> String {
    let base = "control:perm(Developer);examine:perm(Builder);view:all();edit:perm(Admin);\
                delete:perm(Admin);get:all();drop:holds();call:true();tell:perm(Admin);\
                puppet:pperm(Developer);teleport:true();teleport_here:true()";
    let extra = match kind {
        "character" => {
            let owner = owner.map(|a| format!(" or pid({a})")).unwrap_or_default();
            let admin = |t: &str| match owner.as_str() {
                "" => format!("{t}:perm(Admin)"),
                o => format!("{t}:{} or perm(Admin)", o.trim_start_matches(" or ")),
            };
            format!(
                "get:false();call:false();teleport:perm(Admin);teleport_here:perm(Admin);\
                 puppet:id({id}){owner} or perm(Developer) or pperm(Developer);{};{}",
                admin("delete"),
                admin("edit")
            )
        }
        "room" => "get:false();puppet:false();teleport:false();teleport_here:true()".into(),
        "exit" => "puppet:false();traverse:all();get:false();teleport:false()".into(),
        _ => String::new(),
    };
    format!("{base};{extra}")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env {
        superuser: bool,
        perm: Option<&'static str>,
        id: u64,
        attrs: Vec<(&'static str, &'static str)>,
    }

    impl LockEnv for Env {
        fn superuser(&self) -> bool {
            self.superuser
        }
        fn permission(&self) -> Option<&str> {
            self.perm
        }
        fn accessor_id(&self) -> Option<u64> {
            Some(self.id)
        }
        fn account_id(&self) -> Option<u64> {
            Some(100)
        }
        fn attr(&self, side: Side, name: &str) -> Option<String> {
            (side == Side::Accessor)
                .then(|| self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
                .flatten()
        }
        fn has_tag(&self, _: Side, key: &str, _: Option<&str>) -> bool {
            key == "red"
        }
        fn holds(&self, _: Option<&str>) -> bool {
            true
        }
        fn inside(&self) -> bool {
            false
        }
        fn has_account(&self) -> bool {
            true
        }
    }

    fn env() -> Env {
        Env { superuser: false, perm: Some("Builder"), id: 7, attrs: vec![("level", "5")] }
    }

    fn allows(expr: &str) -> bool {
        parse_expr(expr).unwrap().allows(&env())
    }

    #[test]
    fn lock_functions_read_the_accessor_as_evennia_does() {
        assert!(allows("all()") && !allows("false()") && !allows("superuser()"));
        assert!(allows("perm(Builder)") && allows("perm(builders)") && !allows("perm(Admin)"));
        assert!(!allows("perm_above(Builder)") && allows("perm_above(Helper)"));
        assert!(allows("id(7)") && allows("dbref(#7)") && !allows("id(8)") && allows("pid(100)"));
        assert!(allows("attr(level)") && allows("attr(level, 5)") && !allows("attr(level, 6)"));
        assert!(allows("attr_gt(level, 4)") && !allows("attr_gt(level, 10)"));
        assert!(allows("attr_le(level, 5)") && !allows("attr(missing)"));
        assert!(allows("tag(red)") && !allows("tag(blue)") && allows("holds()"));
        assert!(allows("not inside() and (id(1) or id(7))") && !allows("not has_account()"));
        let su = Env { superuser: true, ..env() };
        assert!(parse_expr("false()").unwrap().allows(&su), "superusers pass every lock");
    }

    #[test]
    fn unreadable_lock_strings_are_refused_with_the_reason() {
        let err = |s: &str| parse_lockstring(s).unwrap_err();
        assert!(err("get:frobnicate()").contains("unknown lock function 'frobnicate()'"));
        assert!(err("get").contains("no access type"));
        assert!(err("get:id(x)").contains("not an id"));
        assert!(err("get:all() or").contains("ends too early"));
        assert!(err("get:(all()").contains("not closed"));
        assert!(err(&format!("get:{}all()", "not ".repeat(40))).contains("deeper than 32"));
        assert!(err(&format!("get:{}all(){}", "(".repeat(40), ")".repeat(40))).contains("deeper"));
    }

    #[test]
    fn a_lockstring_keeps_one_lock_per_access_type() {
        let locks = parse_lockstring("get:false(); traverse:all();get:perm(Builder)").unwrap();
        let strings: Vec<String> = locks.iter().map(Lock::to_lockstring).collect();
        assert_eq!(strings, ["traverse:all()", "get:perm(Builder)"]);
    }

    #[test]
    fn every_default_lockstring_parses() {
        for kind in ["thing", "character", "room", "exit"] {
            let locks = parse_lockstring(&default_lockstring(kind, 3, Some(9))).unwrap();
            assert!(locks.iter().any(|l| l.access_type == "get"), "{kind}");
        }
        let ch = default_lockstring("character", 3, Some(9));
        assert!(ch.contains("puppet:id(3) or pid(9) or perm(Developer)"), "{ch}");
    }
}
