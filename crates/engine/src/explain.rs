//! EXPLAIN: the plan tree with estimated and actual rows and the time spent in each node.

use std::fmt;
use std::time::Duration;

use userql_directory::model::Model;

use crate::bound::Pred;
use crate::execute::Trace;
use crate::order::PageStrategy;
use crate::plan::{Node, Plan};

/// A plan annotated with what execution did.
#[derive(Debug, Clone)]
pub struct Explain {
    /// Rendered lines, one per node, indented by depth.
    pub lines: Vec<ExplainLine>,
    /// Total matches.
    pub total: u64,
    /// How the page was produced.
    pub strategy: PageStrategy,
    /// Rows changed since the indexes were built, checked one by one (0: none).
    pub overlay_rows: u64,
}

/// One node of the annotated plan.
#[derive(Debug, Clone)]
pub struct ExplainLine {
    /// Depth in the tree (root = 0).
    pub depth: usize,
    /// What the node does, with entity names resolved.
    pub label: String,
    /// Planner's estimate.
    pub est: u64,
    /// Rows it produced.
    pub actual: u64,
    /// Time spent, children included.
    pub time: Duration,
}

impl Explain {
    /// Builds the annotated plan from a plan and its trace.
    pub fn new(
        plan: &Plan,
        trace: &Trace,
        model: &Model,
        total: u64,
        strategy: PageStrategy,
    ) -> Explain {
        let mut lines = Vec::new();
        let mut next = 0usize;
        walk(&plan.root, 0, trace, model, &mut next, &mut lines);
        Explain {
            lines,
            total,
            strategy,
            overlay_rows: 0,
        }
    }

    /// The plan without timings (stable across runs: the snapshot-test format).
    pub fn without_times(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(&format!(
                "{}{}  (est {}, actual {})\n",
                "  ".repeat(line.depth),
                line.label,
                line.est,
                line.actual
            ));
        }
        if self.overlay_rows > 0 {
            out.push_str(&format!(
                "overlay: {} changed rows checked one by one\n",
                self.overlay_rows
            ));
        }
        out.push_str(&format!(
            "total {}, page by {:?}\n",
            self.total, self.strategy
        ));
        out
    }
}

fn walk(
    node: &Node,
    depth: usize,
    trace: &Trace,
    model: &Model,
    next: &mut usize,
    lines: &mut Vec<ExplainLine>,
) {
    let (actual, time) = trace.nodes.get(*next).copied().unwrap_or_default();
    *next += 1;
    lines.push(ExplainLine {
        depth,
        label: label(node, model),
        est: node.est(),
        actual,
        time,
    });
    if let Node::And { inputs, minus, .. } = node {
        for child in inputs {
            walk(child, depth + 1, trace, model, next, lines);
        }
        for child in minus {
            let at = lines.len();
            walk(child, depth + 1, trace, model, next, lines);
            lines[at].label = format!("minus {}", lines[at].label);
        }
        return;
    }
    for child in node.children() {
        walk(child, depth + 1, trace, model, next, lines);
    }
}

fn label(node: &Node, model: &Model) -> String {
    match node {
        Node::Empty => "Empty".into(),
        Node::All { .. } => "All".into(),
        Node::Lookup { pred, .. } => format!("Lookup {}", describe(pred, model)),
        Node::And { residual, .. } if !residual.is_empty() => format!(
            "And, then check per row: {}",
            residual
                .iter()
                .map(|(p, negated)| format!(
                    "{}{}",
                    if *negated { "not " } else { "" },
                    describe(p, model)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Node::And { .. } => "And".into(),
        Node::Or { .. } => "Or".into(),
        Node::Complement { .. } => "Complement".into(),
    }
}

/// A predicate with entity indices replaced by names.
pub fn describe(pred: &Pred, model: &Model) -> String {
    let name = |kind: &str, id: &str, n: &str| format!("{kind} {n:?} ({id})");
    match pred {
        Pred::GroupDirect(g) => {
            let g = &model.groups[g.index()];
            name("group-direct", &g.id, &g.name)
        }
        Pred::GroupTransitive(g) => {
            let g = &model.groups[g.index()];
            name("group-subtree", &g.id, &g.name)
        }
        Pred::EnterpriseGroup(g) => {
            let g = &model.groups[g.index()];
            name("enterprise-group", &g.id, &g.name)
        }
        Pred::Team(t) => {
            let t = &model.teams[t.index()];
            name("team", &t.id, &t.name)
        }
        Pred::Organization(o) => {
            let o = &model.organizations[o.index()];
            name("organization", &o.id, &o.name)
        }
        Pred::OwnRole(r) => {
            let r = &model.roles[r.index()];
            name("own-role", &r.id, &r.name)
        }
        Pred::OriginService(s) => {
            let s = &model.services[s.index()];
            name("origin-service", &s.id, &s.name)
        }
        Pred::License(s) => {
            let s = &model.services[s.index()];
            name("license", &s.id, &s.name)
        }
        Pred::Access { scope, roles } => {
            use userql_directory::index::AccessScope;
            let scope = match scope {
                AccessScope::Any => "any scope".to_string(),
                AccessScope::Project(p) => format!("project {:?}", model.projects[p.index()].name),
                AccessScope::Organization(o) => {
                    format!("organization {:?}", model.organizations[o.index()].name)
                }
            };
            let roles = match roles {
                None => "any role".to_string(),
                Some(rs) => rs
                    .iter()
                    .map(|r| model.roles[r.index()].name.clone())
                    .collect::<Vec<_>>()
                    .join(" | "),
            };
            format!("access {scope} with {roles}")
        }
        other => other.to_string(),
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(
                f,
                "{}{}  (est {}, actual {}, {:.3} ms)",
                "  ".repeat(line.depth),
                line.label,
                line.est,
                line.actual,
                line.time.as_secs_f64() * 1e3
            )?;
        }
        if self.overlay_rows > 0 {
            writeln!(
                f,
                "overlay: {} changed rows checked one by one",
                self.overlay_rows
            )?;
        }
        write!(f, "total {}, page by {:?}", self.total, self.strategy)
    }
}
