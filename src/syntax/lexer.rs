//! Physical lines -> logical lines. (To be written.)
