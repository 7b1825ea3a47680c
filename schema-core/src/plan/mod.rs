//! The planner: diff two schemas into an ordered plan, lint it, render it as SQLite SQL. Pure.
