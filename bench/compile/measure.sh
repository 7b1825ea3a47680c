#!/usr/bin/env bash
# Compile cost of a minimal Godwit app against the rusqlite-bundled floor (issue 16, deliver 1).
#
#   bench/compile/measure.sh [debug|release|both]   (default: both)
#
# For each profile, in fresh target dirs under a temp dir: a clean build of
#   floor     a crate that only compiles rusqlite with `bundled`
#   derive    the quickstart app (build.rs + #[derive(Table)] structs), runtime default features
#   derive_bo the derive app with `[profile.release.build-override]` set to the release profile's
#             settings, so cargo can build the host copies of shared crates (the bundled SQLite,
#             rusqlite, the engine) once instead of twice (measure with NAMES, release only)
#   derive_sys the derive app whose build script replays on the system SQLite (schema-core
#             without `bundled`): the bundled SQLite is compiled for the target only (needs
#             libsqlite3-dev 3.44+ for rusqlite 0.43 to link, 3.47+ for the guarded rebuilds)
#   noderive  the same app on the runtime without `derive`: the build script still runs, main
#             opens a database through `Database` (the generated `Db` names the structs, which
#             need the derive, so it is not included)
# then, for `derive`, the incremental rebuild after a one-field schema edit (a new column, so the
# build script writes a migration) and after an unrelated edit of main.rs. Prints one line per
# figure and the host crates each build compiled twice (once for the build scripts' host
# profile): `cargo build --timings` would show more; this keeps to wall-clock seconds.
#
# Cargo runs --offline from the local registry; run it on a quiet machine (it takes minutes).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PROFILES="${1:-both}"
# NAMES="floor noderive" measures only those clean builds (the incremental ones need derive).
NAMES="${NAMES:-floor derive noderive}"
WORK="$(mktemp -d -t godwit-compile-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

RUSQLITE_VERSION="$(grep -A1 '^name = "rusqlite"' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"

write_floor() {
    mkdir -p "$WORK/floor/src"
    cat > "$WORK/floor/Cargo.toml" <<TOML
[package]
name = "floor"
version = "0.1.0"
edition = "2024"
[dependencies]
rusqlite = { version = "=$RUSQLITE_VERSION", features = ["bundled"] }
[workspace]
TOML
    cat > "$WORK/floor/src/main.rs" <<'RS'
fn main() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (x)").unwrap();
}
RS
}

# write_app NAME FEATURES: the quickstart, depending on this checkout by path.
write_app() {
    local name="$1" features="$2"
    mkdir -p "$WORK/$name"
    cp -r "$ROOT/examples/quickstart/src" "$ROOT/examples/quickstart/build.rs" "$WORK/$name/"
    cp -r "$ROOT/examples/quickstart/migrations" "$WORK/$name/"
    cat > "$WORK/$name/Cargo.toml" <<TOML
[package]
name = "$name"
version = "0.1.0"
edition = "2024"
[dependencies]
migrate-runtime = { path = "$ROOT/migrate-runtime"$features }
[build-dependencies]
schema-core = { path = "$ROOT/schema-core", default-features = false, features = ["build", "bundled"] }
[workspace]
TOML
    if [ "$name" = derive_bo ]; then
        cat >> "$WORK/$name/Cargo.toml" <<'TOML'
[profile.release.build-override]
opt-level = 3
codegen-units = 16
TOML
    fi
    if [ "$name" = derive_sys ]; then
        sed -i 's|features = \["build", "bundled"\]|features = ["build"]|' "$WORK/$name/Cargo.toml"
    fi
    if [ "$name" = noderive ]; then
        # No struct is compiled: the build script still reads src/schema.rs.
        cat > "$WORK/$name/src/main.rs" <<'RS'
fn main() {
    let options = migrate_runtime::Options::new();
    let db = migrate_runtime::Database::open_in_memory(&[], &options).unwrap();
    assert!(db.report().is_empty());
}
RS
    fi
}

# seconds DIR PROFILE: one build's wall-clock seconds.
seconds() {
    local dir="$1" profile="$2" flag=""
    [ "$profile" = release ] && flag="--release"
    local start end
    start=$(date +%s.%N)
    (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build --offline -q $flag) >&2 || {
        echo "build of $dir ($profile) failed" >&2
        exit 1
    }
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

twice_compiled() {
    local dir="$1" profile="$2"
    # Host crates (build scripts, proc-macros) land in target/<profile>/build and deps both for
    # the target and the host when a build-dependency shares them; with no --target they share
    # one dir, so count crates whose rlib exists under two metadata hashes.
    ls "$dir/target/$profile/deps" | sed -n 's/^lib\(.*\)-[0-9a-f]*\.rlib$/\1/p' | sort | uniq -d | tr '\n' ' '
}

write_floor
write_app derive ""
write_app derive_bo ""
write_app derive_sys ""
write_app noderive ", default-features = false, features = [\"bundled\"]"

for profile in debug release; do
    [ "$PROFILES" != both ] && [ "$PROFILES" != "$profile" ] && continue
    for name in $NAMES; do
        rm -rf "$WORK/$name/target"
        t=$(seconds "$WORK/$name" "$profile")
        echo "$profile clean $name: ${t} s; compiled twice: $(twice_compiled "$WORK/$name" "$profile")"
    done
    case " $NAMES " in *" derive "*) ;; *) continue ;; esac
    # Incremental: one new field (the build script writes a migration), then an unrelated edit.
    cp "$WORK/derive/src/schema.rs" "$WORK/schema.rs.orig"
    sed -i 's|    pub bio: Option<String>,|    pub bio: Option<String>,\n    /// Added by the compile benchmark.\n    pub website: Option<String>,|' "$WORK/derive/src/schema.rs"
    sed -i 's|                    bio: None,|                    bio: None,\n                    website: None,|' "$WORK/derive/src/main.rs"
    t=$(seconds "$WORK/derive" "$profile")
    echo "$profile incremental derive, one-field schema edit: ${t} s"
    echo "// an unrelated edit" >> "$WORK/derive/src/main.rs"
    t=$(seconds "$WORK/derive" "$profile")
    echo "$profile incremental derive, unrelated edit of main.rs: ${t} s"
    cp "$WORK/schema.rs.orig" "$WORK/derive/src/schema.rs"
    rm -rf "$WORK/derive/migrations" && cp -r "$ROOT/examples/quickstart/migrations" "$WORK/derive/"
    sed -i '/website: None,/d; /an unrelated edit/d' "$WORK/derive/src/main.rs"
done
