//! WeChat deliveries.
