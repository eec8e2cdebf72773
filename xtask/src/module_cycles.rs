//! A check that no crate of the workspace has modules that import each
//! other, directly or around a circle.
//!
//! For each crate root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`) the
//! module tree is followed through its `mod name;` declarations, each file
//! mapped to its module path (`bench::lists`). In each file, comments,
//! strings and `#[cfg(test)]` modules left out, every path that names a
//! module of the crate is an edge to that module: `use` trees
//! (`use super::{client::Client, stats::median};`), paths in code
//! (`crate::seed::seed_tickets(..)`, `lists::ListSection::new(..)`), from
//! `crate::`, `super::`, `self::` or a child module's name. A path is
//! resolved to the deepest module file it names; references to the crate
//! root (its re-exports) and to the file itself are not edges.
//!
//! The graph must be acyclic twice over: between files (`bench` and
//! `bench::lists` are two nodes) and between the crate's top-level modules
//! (each file counted as its first segment). A cycle is printed with one
//! reference per edge, as `file:line`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How closely a crate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Between its top-level modules only (a child module may still use
    /// its parent's items through `super::`).
    TopLevel,
    /// Between its top-level modules, and between its files: no file may
    /// use one that uses it, a parent module included.
    Files,
}

/// The crates checked, by directory from the workspace root: every member
/// of the workspace (see `the_checked_crates_are_the_workspace_members`).
const CRATES: [(&str, Level); 9] = [
    ("crates/domain", Level::TopLevel),
    ("crates/store", Level::TopLevel),
    ("crates/edge", Level::TopLevel),
    ("crates/json_api", Level::TopLevel),
    ("crates/web", Level::TopLevel),
    ("crates/delivery", Level::TopLevel),
    ("crates/api", Level::TopLevel),
    ("crates/testkit", Level::Files),
    ("xtask", Level::Files),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("xtask's manifest dir has no parent"))
}

#[test]
fn no_crate_of_the_workspace_has_a_module_cycle() {
    assert_acyclic(&CRATES);
}

#[test]
fn the_checked_crates_are_the_workspace_members() {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("the workspace's Cargo.toml: {e}"));
    let members: BTreeSet<&str> = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("no `members = [...]` in Cargo.toml"))
        .split(',')
        .map(|member| member.trim().trim_matches('"'))
        .filter(|member| !member.is_empty())
        .collect();
    let checked: BTreeSet<&str> = CRATES.iter().map(|(dir, _)| *dir).collect();
    assert_eq!(members, checked);
}

/// Panics with every cycle found in `crates`.
fn assert_acyclic(crates: &[(&str, Level)]) {
    let root = workspace_root();
    let mut found = String::new();
    for (krate, level) in crates {
        for tree in crate_trees(&root.join(krate)) {
            for cycle in tree.cycles(*level) {
                let _ = writeln!(found, "{krate} ({}): {cycle}", tree.root_file);
            }
        }
    }
    assert!(found.is_empty(), "module import cycles:\n{found}");
}

/// The module trees of the crate in `dir`, one per crate root.
fn crate_trees(dir: &Path) -> Vec<Tree> {
    let src = dir.join("src");
    let mut roots = Vec::new();
    for name in ["lib.rs", "main.rs"] {
        if src.join(name).is_file() {
            roots.push(src.join(name));
        }
    }
    if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
        let mut bins: Vec<PathBuf> = bins
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    roots
        .into_iter()
        .map(|root| {
            let files = load_tree(&root);
            let shown = root
                .strip_prefix(dir)
                .unwrap_or(&root)
                .display()
                .to_string();
            Tree::new(shown, &files)
        })
        .collect()
}

/// A module's path from the crate root: empty for the root itself.
type ModPath = Vec<String>;

/// One file of a module tree.
#[derive(Debug)]
struct ModFile {
    module: ModPath,
    /// Its file, for messages.
    shown: String,
    tokens: Vec<Token>,
    /// The file modules it declares (`mod name;`), test modules left out.
    children: Vec<String>,
}

/// Reads the tree of the crate root `root`: each file reached by a
/// `mod name;` that is not `#[cfg(test)]`.
fn load_tree(root: &Path) -> Vec<ModFile> {
    let mut files = Vec::new();
    let mut pending = vec![(root.to_path_buf(), ModPath::new())];
    let base = root.parent().unwrap_or(Path::new("."));
    while let Some((path, module)) = pending.pop() {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let file = parse_file(
            module,
            path.strip_prefix(base)
                .unwrap_or(&path)
                .display()
                .to_string(),
            &text,
        );
        // `foo.rs` keeps its children in `foo/`; `mod.rs`, `lib.rs`,
        // `main.rs` and a binary's root in their own directory.
        let owns_dir =
            file.module.is_empty() || path.file_name().is_some_and(|name| name == "mod.rs");
        let dir = if owns_dir {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.with_extension("")
        };
        for child in &file.children {
            let flat = dir.join(format!("{child}.rs"));
            let nested = dir.join(child).join("mod.rs");
            let found = if flat.is_file() { flat } else { nested };
            let mut module = file.module.clone();
            module.push(child.clone());
            pending.push((found, module));
        }
        files.push(file);
    }
    files
}

/// A token of Rust source, as much as the check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Splits `text` into tokens, comments, strings and character literals
/// left out (lifetimes become a `'` and an identifier, which is harmless).
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' || ((c == 'b' || c == 'c') && at(i + 1) == '"') {
            i += if c == '"' { 1 } else { 2 };
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r'))
            && matches!(at(i + usize::from(c == 'b') + 1), '"' | '#')
            && raw_string_hashes(&chars, i + usize::from(c == 'b') + 1).is_some()
        {
            let start = i + usize::from(c == 'b') + 1;
            let hashes = raw_string_hashes(&chars, start).unwrap_or(0);
            i = start + hashes + 1;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                if chars[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\''), or a lifetime.
            if at(i + 1) == '\\' {
                // The escaped character, then up to the closing quote
                // (`'\u{1F600}'`).
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                tokens.push(Token {
                    tok: Tok::Punct('\''),
                    line,
                });
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // `r#type`: a raw identifier.
            let word = word.strip_prefix("r#").map(str::to_owned).unwrap_or(word);
            tokens.push(Token {
                tok: Tok::Ident(word),
                line,
            });
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    tokens
}

/// If a raw string starts at `start` (`#`s then `"`), how many `#`s.
fn raw_string_hashes(chars: &[char], start: usize) -> Option<usize> {
    let mut hashes = 0;
    while chars.get(start + hashes) == Some(&'#') {
        hashes += 1;
    }
    (chars.get(start + hashes) == Some(&'"')).then_some(hashes)
}

fn ident(token: Option<&Token>) -> Option<&str> {
    match token.map(|t| &t.tok) {
        Some(Tok::Ident(word)) => Some(word),
        _ => None,
    }
}

fn is_punct(token: Option<&Token>, c: char) -> bool {
    matches!(token.map(|t| &t.tok), Some(Tok::Punct(p)) if *p == c)
}

/// The index after the bracket that closes the one at `open`.
fn skip_group(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < tokens.len() {
        match tokens[i].tok {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct('}' | ')' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    tokens.len()
}

/// Whether the attribute at `i` (`#` `[` ...) is `#[cfg(test)]`; the index
/// after it.
fn attribute(tokens: &[Token], i: usize) -> Option<(bool, usize)> {
    if !is_punct(tokens.get(i), '#') {
        return None;
    }
    let open = if is_punct(tokens.get(i + 1), '!') {
        i + 2
    } else {
        i + 1
    };
    if !is_punct(tokens.get(open), '[') {
        return None;
    }
    let end = skip_group(tokens, open);
    let words: Vec<&Tok> = tokens[open + 1..end - 1].iter().map(|t| &t.tok).collect();
    let is_cfg_test = matches!(
        words.as_slice(),
        [Tok::Ident(cfg), Tok::Punct('('), Tok::Ident(test), Tok::Punct(')')]
            if cfg == "cfg" && test == "test"
    );
    Some((is_cfg_test, end))
}

/// Parses one file: its tokens without `#[cfg(test)]` modules, and the
/// file modules it declares.
fn parse_file(module: ModPath, shown: String, text: &str) -> ModFile {
    let all = tokenize(text);
    let mut tokens = Vec::with_capacity(all.len());
    let mut children = Vec::new();
    let mut i = 0;
    while i < all.len() {
        // Attributes, then maybe a module under `#[cfg(test)]`.
        if let Some((mut cfg_test, mut after)) = attribute(&all, i) {
            while let Some((also_test, next)) = attribute(&all, after) {
                cfg_test |= also_test;
                after = next;
            }
            let mut item = after;
            if ident(all.get(item)) == Some("pub") {
                item += 1;
                if is_punct(all.get(item), '(') {
                    item = skip_group(&all, item);
                }
            }
            if cfg_test && ident(all.get(item)) == Some("mod") {
                // Left out whole: `mod tests;` or `mod tests { ... }`.
                let mut end = item + 2;
                if is_punct(all.get(end), '{') {
                    end = skip_group(&all, end);
                } else {
                    end += 1;
                }
                i = end;
                continue;
            }
            // Other attributes stay: their paths are references too
            // (`#[error("{}", crate::login::MESSAGE)]`).
            tokens.extend_from_slice(&all[i..after]);
            i = after;
            continue;
        }
        if ident(all.get(i)) == Some("mod")
            && let Some(name) = ident(all.get(i + 1))
            && is_punct(all.get(i + 2), ';')
        {
            children.push(name.to_owned());
        }
        tokens.push(all[i].clone());
        i += 1;
    }
    ModFile {
        module,
        shown,
        tokens,
        children,
    }
}

/// A reference from one file to a module path, for messages.
#[derive(Debug, Clone)]
struct Reference {
    file: String,
    line: usize,
    path: String,
}

/// Every path in `file` that starts with `crate`, `super`, `self` or one
/// of `children`, with the line it is on: `use` trees expanded, and paths
/// in code.
fn paths(file: &ModFile) -> Vec<(Vec<String>, usize)> {
    let tokens = &file.tokens;
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if ident(tokens.get(i)) == Some("use") {
            let end = (i..tokens.len())
                .find(|&j| is_punct(tokens.get(j), ';'))
                .unwrap_or(tokens.len());
            let line = tokens[i].line;
            let mut start = i + 1;
            if matches!(tokens.get(start).map(|t| &t.tok), Some(Tok::PathSep)) {
                start += 1;
            }
            for path in use_tree(&tokens[start..end], &[]) {
                found.push((path, line));
            }
            i = end + 1;
            continue;
        }
        let starts_path = matches!(tokens[i].tok, Tok::Ident(_))
            && matches!(tokens.get(i + 1).map(|t| &t.tok), Some(Tok::PathSep))
            && !matches!(
                tokens.get(i.wrapping_sub(1)).map(|t| &t.tok),
                Some(Tok::PathSep)
            );
        if starts_path {
            let mut path = Vec::new();
            let mut j = i;
            while let Some(word) = ident(tokens.get(j)) {
                path.push(word.to_owned());
                if matches!(tokens.get(j + 1).map(|t| &t.tok), Some(Tok::PathSep)) {
                    j += 2;
                } else {
                    break;
                }
            }
            found.push((path, tokens[i].line));
            i = j + 1;
            continue;
        }
        i += 1;
    }
    found
}

/// The paths a `use` tree names (without `use` and `;`), each behind
/// `prefix`: `a::{b, c::{self, d}}` is `a::b`, `a::c`, `a::c::d`.
fn use_tree(tokens: &[Token], prefix: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    // Split at top-level commas.
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        match token.tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => depth = depth.saturating_sub(1),
            Tok::Punct(',') if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    for part in parts {
        let mut path = prefix.to_vec();
        let mut i = 0;
        let mut nested = false;
        while i < part.len() {
            match &part[i].tok {
                Tok::Ident(word) if word == "as" => break,
                // `{self, ...}`: the prefix itself.
                Tok::Ident(word) if word == "self" && !prefix.is_empty() && i == 0 => {
                    paths.push(prefix.to_vec());
                    break;
                }
                Tok::Ident(word) => path.push(word.clone()),
                Tok::Punct('{') => {
                    let close = skip_group(part, i);
                    paths.extend(use_tree(&part[i + 1..close - 1], &path));
                    nested = true;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        if !nested && path.len() > prefix.len() {
            paths.push(path);
        }
    }
    paths
}

/// A module tree and the references between its files.
#[derive(Debug)]
struct Tree {
    root_file: String,
    /// From a file's module to the modules it references, with one
    /// reference each.
    edges: BTreeMap<ModPath, BTreeMap<ModPath, Reference>>,
}

impl Tree {
    fn new(root_file: String, files: &[ModFile]) -> Self {
        let modules: BTreeSet<ModPath> = files.iter().map(|f| f.module.clone()).collect();
        let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, Reference>> = BTreeMap::new();
        // The crate root only re-exports and starts things: no edge from
        // it, nor to it (below), so a module may use the root's items.
        for file in files.iter().filter(|file| !file.module.is_empty()) {
            let from = &file.module;
            edges.entry(from.clone()).or_default();
            for (path, line) in paths(file) {
                let Some(to) = resolve(from, &file.children, &path, &modules) else {
                    continue;
                };
                if to.is_empty() || &to == from {
                    continue;
                }
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| Reference {
                        file: file.shown.clone(),
                        line,
                        path: path.join("::"),
                    });
            }
        }
        Tree { root_file, edges }
    }

    /// The edges between top-level modules: each file counted as the first
    /// segment of its module path (the root left out).
    fn top_level(&self) -> BTreeMap<ModPath, BTreeMap<ModPath, Reference>> {
        let mut top: BTreeMap<ModPath, BTreeMap<ModPath, Reference>> = BTreeMap::new();
        for (from, targets) in &self.edges {
            let Some(from) = from.first() else { continue };
            let from = vec![from.clone()];
            top.entry(from.clone()).or_default();
            for (to, reference) in targets {
                let Some(to) = to.first() else { continue };
                let to = vec![to.clone()];
                if to != from {
                    top.entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_insert_with(|| reference.clone());
                }
            }
        }
        top
    }

    /// Each cycle found between top-level modules and, at
    /// [`Level::Files`], between files, as text.
    fn cycles(&self, level: Level) -> Vec<String> {
        let mut graphs = Vec::new();
        if level == Level::Files {
            graphs.push(("files", self.edges.clone()));
        }
        graphs.push(("top-level modules", self.top_level()));
        let mut found = Vec::new();
        for (between, graph) in graphs {
            for (cycle, members) in find_cycles(&graph) {
                let mut text = format!("a cycle between {between}: ");
                let names: Vec<String> = cycle.iter().map(show).collect();
                text.push_str(&names.join(" -> "));
                if members.len() + 1 > cycle.len() {
                    let members: Vec<String> = members.iter().map(show).collect();
                    let _ = write!(text, " (of {}, which reach each other)", members.join(", "));
                }
                for pair in cycle.windows(2) {
                    let reference = &graph[&pair[0]][&pair[1]];
                    let _ = write!(
                        text,
                        "\n    {} -> {}: {}:{} `{}`",
                        show(&pair[0]),
                        show(&pair[1]),
                        reference.file,
                        reference.line,
                        reference.path
                    );
                }
                found.push(text);
            }
        }
        found
    }
}

fn show(module: &ModPath) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// The module file `path` names, seen from `from` (whose file modules are
/// `children`), if it names one of `modules`: the deepest one.
fn resolve(
    from: &ModPath,
    children: &[String],
    path: &[String],
    modules: &BTreeSet<ModPath>,
) -> Option<ModPath> {
    let first = path.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (ModPath::new(), &path[1..]),
        "self" => (from.clone(), &path[1..]),
        "super" => {
            let mut base = from.clone();
            let mut i = 0;
            while path.get(i).is_some_and(|s| s == "super") {
                base.pop()?;
                i += 1;
            }
            (base, &path[i..])
        }
        child if children.iter().any(|c| c == child) => {
            let mut base = from.clone();
            base.push(child.to_owned());
            (base, &path[1..])
        }
        _ => return None,
    };
    for segment in rest {
        let mut deeper = base.clone();
        deeper.push(segment.clone());
        if modules.contains(&deeper) {
            base = deeper;
        } else {
            break;
        }
    }
    modules.contains(&base).then_some(base)
}

/// The cycles of `graph`: for each strongly connected set of more than
/// one node, one shortest cycle through its first node (the nodes, the
/// first repeated at the end), and the whole set.
fn find_cycles(
    graph: &BTreeMap<ModPath, BTreeMap<ModPath, Reference>>,
) -> Vec<(Vec<ModPath>, BTreeSet<ModPath>)> {
    let nodes: Vec<&ModPath> = graph.keys().collect();
    let reaches = |from: &ModPath| -> BTreeSet<ModPath> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(node) = stack.pop() {
            for next in graph.get(&node).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&ModPath, BTreeSet<ModPath>> =
        nodes.iter().map(|&node| (node, reaches(node))).collect();
    let mut done: BTreeSet<ModPath> = BTreeSet::new();
    let mut cycles = Vec::new();
    for &node in &nodes {
        if done.contains(node) || !reach[node].contains(node) {
            continue;
        }
        // Its strongly connected set: what it reaches and is reached from.
        let set: BTreeSet<ModPath> = reach[node]
            .iter()
            .filter(|other| reach.get(other).is_some_and(|r| r.contains(node)))
            .cloned()
            .collect();
        done.extend(set.iter().cloned());
        // The shortest way back to `node`, inside the set.
        let mut previous: BTreeMap<ModPath, ModPath> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([node.clone()]);
        'search: while let Some(at) = queue.pop_front() {
            for next in graph.get(&at).into_iter().flat_map(BTreeMap::keys) {
                if !set.contains(next) {
                    continue;
                }
                if next == node {
                    // `node, ..., at, node`, along the edges.
                    let mut cycle = vec![at.clone()];
                    while let Some(last) = cycle.last().filter(|&last| last != node) {
                        let before = previous[last].clone();
                        cycle.push(before);
                    }
                    cycle.reverse();
                    cycle.push(node.clone());
                    cycles.push((cycle, set.clone()));
                    break 'search;
                }
                if !previous.contains_key(next) {
                    previous.insert(next.clone(), at.clone());
                    queue.push_back(next.clone());
                }
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        let parsed: Vec<ModFile> = files
            .iter()
            .map(|(module, text)| {
                let module: ModPath = module
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                parse_file(module, format!("{files:?}"), text)
            })
            .collect();
        Tree::new("lib.rs".to_owned(), &parsed)
    }

    fn edges(tree: &Tree) -> Vec<(String, String)> {
        tree.edges
            .iter()
            .flat_map(|(from, to)| to.keys().map(move |to| (show(from), show(to))))
            .collect()
    }

    #[test]
    fn use_trees_code_paths_super_and_children_are_edges() {
        let tree = tree(&[
            ("", "mod bench; mod seed; pub use bench::run;"),
            (
                "bench",
                "mod client; mod lists; mod stats;\n\
                 use super::seed as s;\n\
                 fn run() { lists::measure(); let x = \"crate::seed::fake\"; }",
            ),
            (
                "bench::client",
                "use std::net::TcpStream; // super::lists::x",
            ),
            (
                "bench::lists",
                "use super::{client::{self, Client}, stats::median};\nuse crate::seed::X;",
            ),
            (
                "bench::stats",
                "fn f() -> crate::bench::client::Tally { todo!() }",
            ),
            ("seed", "/* crate::bench::lists */ fn f() { let c = 'x'; }"),
        ]);
        assert_eq!(
            edges(&tree),
            [
                ("bench", "bench::lists"),
                ("bench", "seed"),
                ("bench::lists", "bench::client"),
                ("bench::lists", "bench::stats"),
                ("bench::lists", "seed"),
                ("bench::stats", "bench::client"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        assert!(
            tree.cycles(Level::Files).is_empty(),
            "{:?}",
            tree.cycles(Level::Files)
        );
    }

    #[test]
    fn a_cycle_is_found_and_shown_with_its_references() {
        let tree = tree(&[
            ("", "mod a; mod b; mod c;"),
            ("a", "use crate::b::Thing;"),
            ("b", "fn f() { crate::c::g(); }"),
            ("c", "use super::a;"),
        ]);
        let cycles = tree.cycles(Level::Files);
        assert_eq!(cycles.len(), 2, "{cycles:?}");
        assert!(cycles[0].starts_with("a cycle between files: a -> b -> c -> a"));
        assert!(cycles[0].contains("a -> b: "));
        assert!(cycles[0].contains("`crate::b::Thing`"));
        assert!(cycles[1].starts_with("a cycle between top-level modules: a -> b -> c -> a"));
    }

    #[test]
    fn a_child_using_its_parent_is_a_cycle_between_files_only() {
        let tree = tree(&[
            ("", "mod bench;"),
            ("bench", "mod lists; fn run() { lists::go(Args) }"),
            ("bench::lists", "use super::Args;"),
        ]);
        let cycles = tree.cycles(Level::Files);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert!(cycles[0].starts_with("a cycle between files: bench -> bench::lists -> bench"));
    }

    #[test]
    fn test_modules_and_references_to_the_root_are_left_out() {
        let tree = tree(&[
            (
                "",
                "mod a; mod b; #[cfg(test)] mod checks; pub struct Root;",
            ),
            (
                "a",
                "use crate::Root; use crate::b::X;\n\
                 #[cfg(test)]\nmod tests { use crate::a::Y; use super::*; use crate::b::Z; }",
            ),
            (
                "b",
                "#[cfg(test)]\n#[allow(unused)]\nmod tests {\n use crate::a::helper;\n}\nuse crate::Root;",
            ),
        ]);
        assert_eq!(edges(&tree), [("a".to_owned(), "b".to_owned())]);
        assert!(tree.cycles(Level::Files).is_empty());
    }

    #[test]
    fn strings_raw_strings_and_lifetimes_do_not_confuse_the_tokens() {
        let file = parse_file(
            ModPath::new(),
            "x".to_owned(),
            "fn f<'a>(x: &'a str) { let s = r#\"crate::a\"#; let b = b\"super::b\"; \
             let q = '\\''; let n = '\"'; crate::real::path(); }",
        );
        let found: Vec<String> = paths(&file)
            .into_iter()
            .map(|(p, _)| p.join("::"))
            .collect();
        assert_eq!(found, ["crate::real::path"]);
    }
}
