//! Introspection of a live SQLite database into an order-insensitive structural description.
