// The declarations are in include/CKaitoSQLite.h; the functions are sqlite-nio's copy of SQLite.
