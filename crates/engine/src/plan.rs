//! The planner: bound expression → a tree of index operations with cardinality estimates.
//!
//! Rewrites, in order: flatten nested `and`/`or`, fold `All`/`Nothing`, drop duplicate operands,
//! remove double negation, then shape every `and` as *intersect the positive operands, subtract
//! the negated ones* (`x and not y` is `x − y`, never `x ∩ (U − y)`), and every `or` that has
//! negated operands as the complement of such a difference (`not a or b` = `U − (a − b)`), so a
//! complement is taken at most once per `or`. Positive operands are ordered most selective first
//! (estimates come from the indexes: exact counts for bitmaps, dictionary ranges and sorted
//! columns; the smallest trigram posting for substrings). When the running estimate of an `and`
//! is already far smaller than what an expensive lookup (prefix, substring, time range …) would
//! produce, that operand becomes a *residual*: checked row by row on the few candidates instead of
//! being materialised.

use std::collections::HashSet;
use std::fmt;

use userql_directory::index::{Indexes, PrefixField, TermField};
use userql_directory::model::Model;

use crate::bound::{Expr, Pred};

/// How much larger an expensive lookup must be than the running candidate estimate before the
/// planner checks it row by row instead (a row check costs a few times a bitmap insert).
const RESIDUAL_FACTOR: u64 = 8;

/// A plan: the root node plus the directory size it was estimated against.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The root.
    pub root: Node,
    /// Number of users when planned.
    pub universe: u64,
}

/// One plan node. Every node knows its estimated output rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// No rows.
    Empty,
    /// Every row.
    All {
        /// = the universe.
        est: u64,
    },
    /// One index lookup.
    Lookup {
        /// The predicate.
        pred: Pred,
        /// Estimated rows.
        est: u64,
    },
    /// `inputs[0] ∩ inputs[1] ∩ … − minus[0] − …`, then the residual checks row by row.
    And {
        /// Positive operands, most selective first (never empty).
        inputs: Vec<Node>,
        /// Negated operands, subtracted.
        minus: Vec<Node>,
        /// Predicates checked per candidate row; `true` = negated.
        residual: Vec<(Pred, bool)>,
        /// Estimated rows.
        est: u64,
    },
    /// Union.
    Or {
        /// Operands (never empty).
        inputs: Vec<Node>,
        /// Estimated rows.
        est: u64,
    },
    /// Every row not in the input.
    Complement {
        /// What to leave out.
        input: Box<Node>,
        /// Estimated rows.
        est: u64,
    },
}

impl Node {
    /// Estimated output rows.
    pub fn est(&self) -> u64 {
        match self {
            Node::Empty => 0,
            Node::All { est }
            | Node::Lookup { est, .. }
            | Node::And { est, .. }
            | Node::Or { est, .. }
            | Node::Complement { est, .. } => *est,
        }
    }

    /// Child nodes in execution order (inputs, then subtracted operands).
    pub fn children(&self) -> Vec<&Node> {
        match self {
            Node::Empty | Node::All { .. } | Node::Lookup { .. } => Vec::new(),
            Node::And { inputs, minus, .. } => inputs.iter().chain(minus.iter()).collect(),
            Node::Or { inputs, .. } => inputs.iter().collect(),
            Node::Complement { input, .. } => vec![input],
        }
    }
}

/// Simplifies a bound expression (flatten, fold constants, dedupe, double negation).
pub fn simplify(expr: Expr) -> Expr {
    match expr {
        Expr::Not(inner) => match simplify(*inner) {
            Expr::Not(x) => *x,
            Expr::All => Expr::Nothing,
            Expr::Nothing => Expr::All,
            other => Expr::not(other),
        },
        Expr::And(items) => {
            let mut out: Vec<Expr> = Vec::new();
            for item in items.into_iter().map(simplify) {
                match item {
                    Expr::All => {}
                    Expr::Nothing => return Expr::Nothing,
                    Expr::And(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            let out = dedupe(out);
            if contradicts(&out) {
                return Expr::Nothing;
            }
            Expr::and(out)
        }
        Expr::Or(items) => {
            let mut out: Vec<Expr> = Vec::new();
            for item in items.into_iter().map(simplify) {
                match item {
                    Expr::Nothing => {}
                    Expr::All => return Expr::All,
                    Expr::Or(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            let out = dedupe(out);
            if contradicts(&out) {
                return Expr::All;
            }
            Expr::or(out)
        }
        other => other,
    }
}

/// Drops repeated operands, keeping the first of each: O(n) expected with hashing (a request may
/// repeat one clause thousands of times, so never a pairwise scan).
fn dedupe(items: Vec<Expr>) -> Vec<Expr> {
    let mut seen: HashSet<Expr> = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// `x` together with `not x` among the operands: an `and` of them is empty, an `or` is everything.
fn contradicts(items: &[Expr]) -> bool {
    let all: HashSet<&Expr> = items.iter().collect();
    items.iter().any(|item| match item {
        Expr::Not(inner) => all.contains(&**inner),
        _ => false,
    })
}

/// Plans a bound expression against the indexes.
pub fn plan(expr: &Expr, model: &Model, index: &Indexes) -> Plan {
    let universe = model.users.count() as u64;
    let planner = Planner { index, universe };
    let simplified = simplify(expr.clone());
    Plan {
        root: planner.node(&simplified),
        universe,
    }
}

struct Planner<'a> {
    index: &'a Indexes,
    universe: u64,
}

/// Whether a predicate is answered by a bitmap the index already holds (so intersecting it costs
/// little and a residual check would not pay).
pub(crate) fn precomputed(pred: &Pred) -> bool {
    matches!(
        pred,
        Pred::Flag(_)
            | Pred::State(_)
            | Pred::GroupDirect(_)
            | Pred::GroupTransitive(_)
            | Pred::Team(_)
            | Pred::Organization(_)
            | Pred::EnterpriseGroup(_)
            | Pred::OwnRole(_)
            | Pred::OriginService(_)
            | Pred::License(_)
            | Pred::InAnyProject
    )
}

/// Whether a predicate can be checked on a user's own record (see
/// [`crate::rowcheck::row_local`]).
fn row_local(pred: &Pred) -> bool {
    matches!(
        pred,
        Pred::Term(..)
            | Pred::Prefix(..)
            | Pred::Substring(..)
            | Pred::Time(..)
            | Pred::Number(..)
            | Pred::Identity { .. }
    )
}

impl Planner<'_> {
    fn estimate(&self, pred: &Pred) -> u64 {
        let ix = self.index;
        match pred {
            Pred::Term(field, value) => ix.term_count(*field, value),
            Pred::Prefix(field, prefix) => ix.prefix_count(*field, prefix),
            Pred::Substring(field, needle) => ix.substring_estimate(*field, needle),
            Pred::Time(column, lo, hi) => ix.time_range_count(*column, *lo, *hi),
            Pred::Number(lo, hi) => ix.number_range(*lo, *hi).len(),
            Pred::Flag(flag) => ix.flag(*flag).len(),
            Pred::State(state) => ix.state(*state).len(),
            Pred::GroupDirect(g) => ix.group_direct(*g).len(),
            Pred::GroupTransitive(g) => ix.group_transitive(*g).len(),
            Pred::Team(t) => ix.team_members(*t).len(),
            Pred::Organization(o) => ix.org_members(*o).len(),
            Pred::EnterpriseGroup(g) => ix.enterprise_users(*g).len(),
            Pred::OwnRole(r) => ix.own_role(*r).len(),
            Pred::Access { scope, roles } => ix.access_estimate(*scope, roles.as_deref()),
            Pred::InAnyProject => ix.in_any_project().len(),
            Pred::OriginService(s) => ix.origin_service(*s).len(),
            Pred::License(s) => ix.license(*s).len(),
            Pred::Identity { provider, uid } => match (provider, uid) {
                (_, Some(uid)) => ix.term_count(TermField::AuthUid, uid).max(1),
                (Some(p), None) => ix.term_count(TermField::AuthModuleType, p),
                (None, None) => ix.flag(userql_directory::index::Flag::HasAuth).len(),
            },
        }
        .min(self.universe)
    }

    fn node(&self, expr: &Expr) -> Node {
        match expr {
            Expr::All => Node::All { est: self.universe },
            Expr::Nothing => Node::Empty,
            Expr::Pred(pred) => Node::Lookup {
                pred: pred.clone(),
                est: self.estimate(pred),
            },
            Expr::Not(inner) => self.complement(self.node(inner)),
            Expr::And(items) => self.and(items),
            Expr::Or(items) => self.or(items),
        }
    }

    fn complement(&self, input: Node) -> Node {
        match input {
            Node::Empty => Node::All { est: self.universe },
            Node::All { .. } => Node::Empty,
            Node::Complement { input, .. } => *input,
            input => Node::Complement {
                est: self.universe.saturating_sub(input.est()),
                input: Box::new(input),
            },
        }
    }

    fn and(&self, items: &[Expr]) -> Node {
        let mut positives: Vec<Node> = Vec::new();
        let mut negatives: Vec<Node> = Vec::new();
        for item in items {
            match item {
                Expr::Not(inner) => negatives.push(self.node(inner)),
                other => positives.push(self.node(other)),
            }
        }
        if positives.contains(&Node::Empty) {
            return Node::Empty;
        }
        positives.retain(|n| !matches!(n, Node::All { .. }));
        negatives.retain(|n| *n != Node::Empty);
        if positives.is_empty() {
            // `not a and not b` = U − (a ∪ b).
            let union = self.union(negatives);
            return self.complement(union);
        }
        positives.sort_by_key(Node::est);
        let mut inputs: Vec<Node> = Vec::new();
        let mut residual: Vec<(Pred, bool)> = Vec::new();
        let mut running = self.universe;
        for node in positives {
            let est = node.est();
            if !inputs.is_empty() {
                if let Node::Lookup { pred, .. } = &node {
                    if !precomputed(pred)
                        && row_local(pred)
                        && running.saturating_mul(RESIDUAL_FACTOR) < est
                    {
                        residual.push((pred.clone(), false));
                        running = self.shrink(running, est);
                        continue;
                    }
                }
            }
            running = if inputs.is_empty() {
                est
            } else {
                self.shrink(running, est)
            };
            inputs.push(node);
        }
        let mut minus: Vec<Node> = Vec::new();
        negatives.sort_by_key(Node::est);
        for node in negatives {
            if let Node::Lookup { pred, est } = &node {
                if !precomputed(pred)
                    && row_local(pred)
                    && running.saturating_mul(RESIDUAL_FACTOR) < *est
                {
                    residual.push((pred.clone(), true));
                    continue;
                }
            }
            running = self.shrink(running, self.universe.saturating_sub(node.est()));
            minus.push(node);
        }
        if inputs.len() == 1 && minus.is_empty() && residual.is_empty() {
            return inputs.pop().unwrap_or(Node::Empty);
        }
        Node::And {
            inputs,
            minus,
            residual,
            est: running,
        }
    }

    /// Independence assumption: |A ∩ B| ≈ |A| · |B| / U.
    fn shrink(&self, running: u64, est: u64) -> u64 {
        if self.universe == 0 {
            return 0;
        }
        ((running as u128 * est as u128) / self.universe as u128) as u64
    }

    fn union(&self, mut inputs: Vec<Node>) -> Node {
        inputs.retain(|n| *n != Node::Empty);
        if inputs.iter().any(|n| matches!(n, Node::All { .. })) {
            return Node::All { est: self.universe };
        }
        match inputs.len() {
            0 => Node::Empty,
            1 => inputs.pop().unwrap_or(Node::Empty),
            _ => {
                let est = inputs.iter().map(Node::est).sum::<u64>().min(self.universe);
                Node::Or { inputs, est }
            }
        }
    }

    fn or(&self, items: &[Expr]) -> Node {
        let (negated, positive): (Vec<&Expr>, Vec<&Expr>) =
            items.iter().partition(|e| matches!(e, Expr::Not(_)));
        if negated.is_empty() {
            return self.union(items.iter().map(|e| self.node(e)).collect());
        }
        // `not a or not b or p or q` = U − ((a ∩ b) − (p ∪ q)).
        let mut conjunction: Vec<Expr> = negated
            .into_iter()
            .filter_map(|e| match e {
                Expr::Not(inner) => Some((**inner).clone()),
                _ => None,
            })
            .collect();
        if !positive.is_empty() {
            let union = Expr::or(positive.into_iter().cloned().collect());
            conjunction.push(Expr::not(union));
        }
        let inner = self.and(&conjunction);
        self.complement(inner)
    }
}

impl fmt::Display for Pred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pred::Term(field, v) => write!(f, "term {field:?} = {v:?}"),
            Pred::Prefix(PrefixField::Login, v) => write!(f, "prefix Login {v:?}"),
            Pred::Prefix(PrefixField::Name, v) => write!(f, "prefix Name {v:?}"),
            Pred::Substring(field, v) => write!(f, "substring {field:?} {v:?}"),
            Pred::Time(col, lo, hi) => {
                write!(f, "range {col:?} {}", bounds(&lo.map(iso), &hi.map(iso)))
            }
            Pred::Number(lo, hi) => write!(f, "range Number {}", bounds(lo, hi)),
            Pred::Flag(flag) => write!(f, "flag {flag:?}"),
            Pred::State(state) => write!(f, "state {}", state.as_str()),
            Pred::GroupDirect(g) => write!(f, "group-direct #{}", g.0),
            Pred::GroupTransitive(g) => write!(f, "group-transitive #{}", g.0),
            Pred::Team(t) => write!(f, "team #{}", t.0),
            Pred::Organization(o) => write!(f, "organization #{}", o.0),
            Pred::EnterpriseGroup(g) => write!(f, "enterprise-group #{}", g.0),
            Pred::OwnRole(r) => write!(f, "own-role #{}", r.0),
            Pred::Access { scope, roles } => {
                write!(f, "access {scope:?}")?;
                match roles {
                    None => write!(f, " any role"),
                    Some(rs) => write!(
                        f,
                        " roles [{}]",
                        rs.iter()
                            .map(|r| format!("#{}", r.0))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
            Pred::InAnyProject => write!(f, "in-any-project"),
            Pred::OriginService(s) => write!(f, "origin-service #{}", s.0),
            Pred::License(s) => write!(f, "license #{}", s.0),
            Pred::Identity { provider, uid } => {
                write!(f, "identity provider={provider:?} uid={uid:?}")
            }
        }
    }
}

/// Epoch milliseconds as an RFC 3339 instant (EXPLAIN is read by people).
fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

fn bounds<T: fmt::Display>(lo: &std::ops::Bound<T>, hi: &std::ops::Bound<T>) -> String {
    use std::ops::Bound::*;
    let lo = match lo {
        Included(v) => format!("[{v}"),
        Excluded(v) => format!("({v}"),
        Unbounded => "(*".to_string(),
    };
    let hi = match hi {
        Included(v) => format!("{v}]"),
        Excluded(v) => format!("{v})"),
        Unbounded => "*)".to_string(),
    };
    format!("{lo}, {hi}")
}
