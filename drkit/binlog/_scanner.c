/* The compiled half of drkit/binlog/scan.py: the event walk over the common transaction shape.
 *
 * An optional extension: drkit/binlog/scan.py is complete without it. The walk here takes only
 * transactions made of the events servers write for row-based DML (a MariaDB GTID or a MySQL
 * GTID and its BEGIN, Annotate_rows or Rows_query, Table_map, Rows v1/v2 uncompressed, Xid)
 * that read cleanly; at anything else (another event
 * type, a table map or row shape not parsed yet, a checksum mismatch, a short or partial event)
 * it stops at the start of that transaction and the Python walk takes it from there. It never
 * raises for what the file holds: the Python walk meets the same bytes and raises its own error,
 * so both paths stop with the same words.
 *
 * RowPlan counts the rows of a Rows event from a per-column plan (nullable, fixed size or
 * length-prefix width), what drkit/binlog/rowcount.py otherwise generates Python code for.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#define HEADER_LEN 19
#define QUERY_EVENT 2
#define XID_EVENT 16
#define TABLE_MAP_EVENT 19
#define ANNOTATE_ROWS_EVENT 160
#define GTID_EVENT 162
#define ROWS_QUERY_LOG_EVENT 29
#define MYSQL_GTID_EVENT 33
#define MYSQL_GTID_LEN 25
#define FL_STANDALONE 0x01
#define FL_GROUP_COMMIT_ID 0x02
#define FL_XA (0x40 | 0x80)
#define FL_EXTRA_MULTI_ENGINE 0x01
#define FL_EXTRA_ALTER 0x06
#define MAX_TRANSACTIONS_PER_RUN 512

static uint32_t crc_table[8][256];

static void
crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            crc_table[t][n] = crc_table[0][crc_table[t - 1][n] & 0xff] ^ (crc_table[t - 1][n] >> 8);
}

/* zlib's own crc32, when the zlib Python's zlib module links is found at run time (several
 * times faster than the table below: it uses the CPU's carry-less multiply). Looked up rather
 * than linked, so that building needs no zlib headers. */
typedef unsigned long (*zlib_crc32_fn)(unsigned long, const unsigned char *, unsigned int);
static zlib_crc32_fn zlib_crc32;

static void
find_zlib(void)
{
    static const char *names[] = {"libz.so.1", "libz.so", "libz.1.dylib", "libz.dylib", NULL};
    for (int i = 0; names[i] != NULL && zlib_crc32 == NULL; i++) {
        void *library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (library != NULL)
            zlib_crc32 = (zlib_crc32_fn)dlsym(library, "crc32");
    }
}

/* The binlog's checksum (zlib's crc32): zlib's, or eight bytes a step from a table. */
static uint32_t
crc32_of(const unsigned char *p, Py_ssize_t n)
{
    if (zlib_crc32 != NULL && n <= 0x7FFFFFFF)
        return (uint32_t)zlib_crc32(0, p, (unsigned int)n);
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
            crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
            crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static inline uint64_t
read_le(const unsigned char *p, int width)
{
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; i--)
        value = value << 8 | p[i];
    return value;
}

/* ---------------------------------------------------------------------------------------- */
/* RowPlan */

typedef struct {
    signed char nullable; /* 1: a null bit in the image's bitmap may leave the value out */
    int size;             /* fixed byte size, or -1: a little-endian length prefix follows */
    int prefix;           /* the prefix's width in bytes (1 to 4) when size is -1 */
} ColumnPlan;

typedef struct {
    PyObject_HEAD
    Py_ssize_t before_len;
    Py_ssize_t after_len; /* -1: no after image (not an update) */
    ColumnPlan *columns;  /* before_len columns, then after_len */
} RowPlanObject;

static PyTypeObject RowPlanType;

static int
read_image_plan(PyObject *image, ColumnPlan *out, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(image, i);
        int nullable, size, prefix;
        if (!PyArg_ParseTuple(item, "pii", &nullable, &size, &prefix))
            return -1;
        if (size < -1 || (size == -1 && (prefix < 1 || prefix > 4))) {
            PyErr_SetString(PyExc_ValueError, "a column plan of an impossible shape");
            return -1;
        }
        out[i].nullable = (signed char)nullable;
        out[i].size = size;
        out[i].prefix = prefix;
    }
    return 0;
}

static PyObject *
RowPlan_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *before, *after;
    static char *keywords[] = {"before", "after", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:RowPlan", keywords, &before, &after))
        return NULL;
    PyObject *before_seq = PySequence_Fast(before, "before must be a sequence");
    if (before_seq == NULL)
        return NULL;
    PyObject *after_seq = NULL;
    if (after != Py_None) {
        after_seq = PySequence_Fast(after, "after must be a sequence or None");
        if (after_seq == NULL) {
            Py_DECREF(before_seq);
            return NULL;
        }
    }
    Py_ssize_t before_len = PySequence_Fast_GET_SIZE(before_seq);
    Py_ssize_t after_len = after_seq ? PySequence_Fast_GET_SIZE(after_seq) : -1;
    RowPlanObject *self = (RowPlanObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        goto fail;
    self->before_len = before_len;
    self->after_len = after_len;
    self->columns = PyMem_New(ColumnPlan, before_len + (after_len > 0 ? after_len : 0) + 1);
    if (self->columns == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (read_image_plan(before_seq, self->columns, before_len) < 0)
        goto fail;
    if (after_seq && read_image_plan(after_seq, self->columns + before_len, after_len) < 0)
        goto fail;
    Py_DECREF(before_seq);
    Py_XDECREF(after_seq);
    return (PyObject *)self;
fail:
    Py_XDECREF(self);
    Py_DECREF(before_seq);
    Py_XDECREF(after_seq);
    return NULL;
}

static void
RowPlan_dealloc(RowPlanObject *self)
{
    PyMem_Free(self->columns);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Hop over one row image at p; the position after it, or -1 when it would run past end. */
static inline Py_ssize_t
skip_image(const unsigned char *buf, Py_ssize_t p, Py_ssize_t end, const ColumnPlan *columns,
           Py_ssize_t count)
{
    Py_ssize_t null_bytes = (count + 7) / 8;
    const unsigned char *nulls = buf + p;
    if (p + null_bytes > end)
        return -1;
    Py_ssize_t q = p + null_bytes;
    for (Py_ssize_t bit = 0; bit < count; bit++) {
        const ColumnPlan *column = &columns[bit];
        if (column->nullable && nulls[bit >> 3] & (1 << (bit & 7)))
            continue;
        /* Each length is compared with what is left before it is added: a 4-byte length
         * added first could wrap a 32-bit Py_ssize_t backwards, inside the buffer again. */
        if (column->size >= 0) {
            if (column->size > end - q)
                return -1;
            q += column->size;
        }
        else {
            if (column->prefix > end - q)
                return -1;
            uint64_t length = read_le(buf + q, column->prefix);
            q += column->prefix;
            if (length > (uint64_t)(end - q))
                return -1;
            q += (Py_ssize_t)length;
        }
    }
    return q;
}

/* Count the rows in buf[p:end]: (rows, position reached); a wrong shape reaches elsewhere. */
static void
count_rows(const RowPlanObject *plan, const unsigned char *buf, Py_ssize_t p, Py_ssize_t end,
           Py_ssize_t *rows_out, Py_ssize_t *reached_out)
{
    Py_ssize_t rows = 0;
    const ColumnPlan *after = plan->columns + plan->before_len;
    while (p < end) {
        Py_ssize_t q = skip_image(buf, p, end, plan->columns, plan->before_len);
        if (q >= 0 && plan->after_len >= 0)
            q = skip_image(buf, q, end, after, plan->after_len);
        if (q <= p) {
            /* Past the end (or no progress): the shape is wrong, no count can end here. */
            *rows_out = 0;
            *reached_out = -1;
            return;
        }
        p = q;
        rows++;
    }
    *rows_out = rows;
    *reached_out = p;
}

static PyObject *
RowPlan_call(RowPlanObject *self, PyObject *args, PyObject *kwds)
{
    Py_buffer view;
    Py_ssize_t p, end;
    if (!PyArg_ParseTuple(args, "y*nn:RowPlan", &view, &p, &end))
        return NULL;
    Py_ssize_t rows = 0, reached = -1;
    if (p >= 0 && end <= view.len && p <= end)
        count_rows(self, (const unsigned char *)view.buf, p, end, &rows, &reached);
    else if (p >= end)
        reached = p;
    PyBuffer_Release(&view);
    return Py_BuildValue("nn", rows, reached);
}

static PyTypeObject RowPlanType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "drkit.binlog._scanner.RowPlan",
    .tp_basicsize = sizeof(RowPlanObject),
    .tp_dealloc = (destructor)RowPlan_dealloc,
    .tp_call = (ternaryfunc)RowPlan_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A row counter for one table shape: call it with (buf, start, end).",
    .tp_new = RowPlan_new,
};

/* ---------------------------------------------------------------------------------------- */
/* Walker */

typedef struct {
    PyObject_HEAD
    PyObject *file;            /* str: the file name every transaction carries */
    PyObject *by_id;           /* dict: table id -> _Table, the scan's table maps in force */
    PyObject *by_body;         /* dict: (mariadb, body bytes) -> _Table, parsed table maps */
    PyObject *transaction;     /* the Transaction class */
    PyObject *table_change;    /* the TableChange class */
    PyObject *no_flags;        /* frozenset() */
    PyObject *uncounted_flags; /* frozenset({ROWS_UNCOUNTED}) */
    PyObject *dml;             /* the kinds */
    PyObject *other;
    PyObject *mariadb;         /* bool, the first item of a by_body key */
    PyObject *begin_probe;     /* (buf, body, body_end) -> whether a Query event is a clean BEGIN */
    unsigned char post_header_lens[256];
    int header_len;
    int crc_len;
    int is_mariadb; /* MariaDB writes the GTID and Annotate_rows events taken here */
    int mysql_gtids; /* the server writes MySQL GTID and Rows_query events (MySQL 5.6+) */
} WalkerObject;

static PyObject *str_schema, *str_name, *str_counters, *empty_bytes;

/* The walker takes part in garbage collection: its begin_probe is a bound method of the scan,
 * whose suspended generator holds the walker, so an abandoned scan is a cycle through it (one
 * the collector could not see, keeping the scan, its mapping and its file open for good). */
static int
Walker_traverse(WalkerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->file);
    Py_VISIT(self->by_id);
    Py_VISIT(self->by_body);
    Py_VISIT(self->transaction);
    Py_VISIT(self->table_change);
    Py_VISIT(self->no_flags);
    Py_VISIT(self->uncounted_flags);
    Py_VISIT(self->dml);
    Py_VISIT(self->other);
    Py_VISIT(self->mariadb);
    Py_VISIT(self->begin_probe);
    return 0;
}

static int
Walker_clear(WalkerObject *self)
{
    Py_CLEAR(self->file);
    Py_CLEAR(self->by_id);
    Py_CLEAR(self->by_body);
    Py_CLEAR(self->transaction);
    Py_CLEAR(self->table_change);
    Py_CLEAR(self->no_flags);
    Py_CLEAR(self->uncounted_flags);
    Py_CLEAR(self->dml);
    Py_CLEAR(self->other);
    Py_CLEAR(self->mariadb);
    Py_CLEAR(self->begin_probe);
    return 0;
}

static void
Walker_dealloc(WalkerObject *self)
{
    PyObject_GC_UnTrack(self);
    Walker_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define TRANSACTION_FIELDS 13
#define TABLE_CHANGE_FIELDS 5

/* How many fields a named tuple class declares (its _fields); -1 with an error set. */
static Py_ssize_t
field_count(PyObject *cls)
{
    PyObject *fields = PyObject_GetAttrString(cls, "_fields");
    if (fields == NULL)
        return -1;
    Py_ssize_t n = PyObject_Length(fields);
    Py_DECREF(fields);
    return n;
}

static PyObject *
Walker_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"file",     "by_id",          "by_body",      "transaction",
                               "table_change", "no_flags",   "uncounted_flags", "dml",
                               "other",    "mariadb",        "post_header_lens", "header_len",
                               "crc_len",  "mysql_gtids", "begin_probe", NULL};
    PyObject *file, *by_id, *by_body, *transaction, *table_change, *no_flags, *uncounted, *dml,
        *other;
    int mariadb, header_len, crc_len, mysql_gtids;
    PyObject *begin_probe;
    Py_buffer lens;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "UO!O!OOOOUUpy*iipO:Walker", keywords, &file,
                                     &PyDict_Type, &by_id, &PyDict_Type, &by_body, &transaction,
                                     &table_change, &no_flags, &uncounted, &dml, &other, &mariadb,
                                     &lens, &header_len, &crc_len, &mysql_gtids, &begin_probe))
        return NULL;
    /* A header length is one byte of the format description event: larger, sums overflow. */
    if (lens.len != 256 || header_len < HEADER_LEN || header_len > 255 ||
        (crc_len != 0 && crc_len != 4)) {
        PyBuffer_Release(&lens);
        PyErr_SetString(PyExc_ValueError, "a format the compiled walk does not take");
        return NULL;
    }
    if (!PyType_Check(transaction) || !PyType_IsSubtype((PyTypeObject *)transaction, &PyTuple_Type) ||
        !PyType_Check(table_change) ||
        !PyType_IsSubtype((PyTypeObject *)table_change, &PyTuple_Type)) {
        PyBuffer_Release(&lens);
        PyErr_SetString(PyExc_TypeError, "the record classes must be named tuples");
        return NULL;
    }
    /* finish() fills every field by position: a record class with a field added or removed
     * would get tuples of the wrong length (the Python walk then reads the file alone). */
    Py_ssize_t transaction_fields = field_count(transaction);
    Py_ssize_t table_change_fields = transaction_fields < 0 ? -1 : field_count(table_change);
    if (table_change_fields < 0) {
        PyBuffer_Release(&lens);
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "the record classes must be named tuples");
        return NULL;
    }
    if (transaction_fields != TRANSACTION_FIELDS || table_change_fields != TABLE_CHANGE_FIELDS) {
        PyBuffer_Release(&lens);
        PyErr_SetString(PyExc_ValueError, "record classes of fields the compiled walk does not fill");
        return NULL;
    }
    WalkerObject *self = (WalkerObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        PyBuffer_Release(&lens);
        return NULL;
    }
    memcpy(self->post_header_lens, lens.buf, 256);
    PyBuffer_Release(&lens);
    self->file = Py_NewRef(file);
    self->by_id = Py_NewRef(by_id);
    self->by_body = Py_NewRef(by_body);
    self->transaction = Py_NewRef(transaction);
    self->table_change = Py_NewRef(table_change);
    self->no_flags = Py_NewRef(no_flags);
    self->uncounted_flags = Py_NewRef(uncounted);
    self->dml = Py_NewRef(dml);
    self->other = Py_NewRef(other);
    self->mariadb = Py_NewRef(mariadb ? Py_True : Py_False);
    self->header_len = header_len;
    self->crc_len = crc_len;
    self->is_mariadb = mariadb;
    self->mysql_gtids = mysql_gtids;
    self->begin_probe = Py_NewRef(begin_probe);
    return (PyObject *)self;
}

/* The transaction being assembled: what TransactionBuilder holds for this shape. */
typedef struct {
    PyObject *gtid;
    PyObject *statements; /* list of str */
    PyObject *row_events; /* list of (start, end) */
    PyObject *tables;     /* list of [schema, name, inserts, updates, deletes] lists */
    PyObject *mapped;     /* dict: table id -> _Table, this transaction's table maps */
    Py_ssize_t start;
    long long timestamp;
    unsigned long server_id;
    Py_ssize_t events;
    int uncounted;
    int mysql;  /* opened by a MySQL GTID: a Query BEGIN may follow, once */
    int begun;
} Building;

static void
building_clear(Building *b)
{
    Py_CLEAR(b->gtid);
    Py_CLEAR(b->statements);
    Py_CLEAR(b->row_events);
    Py_CLEAR(b->tables);
    Py_CLEAR(b->mapped);
}

/* Results of one step: taken, or a reason to hand the transaction back to Python. */
#define TAKEN 0
#define HAND_BACK 1
#define FAILED -1

/* Containers holding only strings and integers: the garbage collector need not visit them (it
 * would untrack them itself, after visiting each once). */
static inline PyObject *
untracked(PyObject *object)
{
    if (object != NULL && PyObject_GC_IsTracked(object))
        PyObject_GC_UnTrack(object);
    return object;
}

static int
add_row_event(Building *b, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *pair = PyTuple_New(2);
    if (pair == NULL)
        return FAILED;
    PyObject *first = PyLong_FromSsize_t(start), *second = PyLong_FromSsize_t(end);
    if (first == NULL || second == NULL) {
        Py_XDECREF(first);
        Py_XDECREF(second);
        Py_DECREF(pair);
        return FAILED;
    }
    PyTuple_SET_ITEM(pair, 0, first);
    PyTuple_SET_ITEM(pair, 1, second);
    untracked(pair);
    int result = PyList_Append(b->row_events, pair);
    Py_DECREF(pair);
    return result < 0 ? FAILED : TAKEN;
}

static int
take_table_map(WalkerObject *w, Building *b, const unsigned char *buf, Py_ssize_t body,
               Py_ssize_t body_end)
{
    int post_header_len = w->post_header_lens[TABLE_MAP_EVENT];
    int width = post_header_len == 6 ? 4 : 6;
    if (post_header_len < width || body + post_header_len >= body_end)
        return HAND_BACK;
    PyObject *body_bytes = PyBytes_FromStringAndSize((const char *)buf + body + post_header_len,
                                                     body_end - body - post_header_len);
    if (body_bytes == NULL)
        return FAILED;
    PyObject *key = PyTuple_Pack(2, w->mariadb, body_bytes);
    Py_DECREF(body_bytes);
    if (key == NULL)
        return FAILED;
    PyObject *entry = PyDict_GetItemWithError(w->by_body, key); /* borrowed */
    Py_DECREF(key);
    if (entry == NULL)
        return PyErr_Occurred() ? FAILED : HAND_BACK; /* not parsed yet: Python parses it */
    PyObject *table_id = PyLong_FromUnsignedLongLong(read_le(buf + body, width));
    if (table_id == NULL)
        return FAILED;
    int result = PyDict_SetItem(b->mapped, table_id, entry);
    Py_DECREF(table_id);
    return result < 0 ? FAILED : TAKEN;
}

static PyObject *
table_for(WalkerObject *w, Building *b, PyObject *table_id)
{
    PyObject *entry = PyDict_GetItemWithError(b->mapped, table_id);
    if (entry == NULL && !PyErr_Occurred())
        entry = PyDict_GetItemWithError(w->by_id, table_id);
    return entry; /* borrowed; NULL without an error: no table map named it */
}

static int
add_rows(Building *b, PyObject *schema, PyObject *name, int operation, Py_ssize_t rows)
{
    Py_ssize_t n = PyList_GET_SIZE(b->tables);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *counts = PyList_GET_ITEM(b->tables, i);
        PyObject *known_schema = PyList_GET_ITEM(counts, 0);
        PyObject *known_name = PyList_GET_ITEM(counts, 1);
        int same = known_schema == schema && known_name == name;
        if (!same) {
            same = PyUnicode_Compare(known_schema, schema) == 0 &&
                   PyUnicode_Compare(known_name, name) == 0;
            if (PyErr_Occurred())
                return FAILED;
        }
        if (same) {
            PyObject *total = PyList_GET_ITEM(counts, 2 + operation);
            PyObject *sum = PyLong_FromSsize_t(PyLong_AsSsize_t(total) + rows);
            if (sum == NULL)
                return FAILED;
            PyList_SET_ITEM(counts, 2 + operation, sum);
            Py_DECREF(total);
            return TAKEN;
        }
    }
    PyObject *counts = Py_BuildValue("[OOnnn]", schema, name, (Py_ssize_t)(operation == 0 ? rows : 0),
                                     (Py_ssize_t)(operation == 1 ? rows : 0),
                                     (Py_ssize_t)(operation == 2 ? rows : 0));
    if (counts == NULL)
        return FAILED;
    int result = PyList_Append(b->tables, counts);
    Py_DECREF(counts);
    return result < 0 ? FAILED : TAKEN;
}

/* A Rows event (v1 or v2, uncompressed), as BinlogScan._count_rows reads one. */
static int
take_rows(WalkerObject *w, Building *b, const unsigned char *buf, Py_ssize_t body,
          Py_ssize_t body_end, int event_type, int operation, int v2)
{
    int post_header_len = w->post_header_lens[event_type];
    if (v2 ? post_header_len != 10 : post_header_len != 6 && post_header_len != 8)
        return HAND_BACK;
    if (body + post_header_len > body_end)
        return HAND_BACK;
    Py_ssize_t pos = body + post_header_len;
    if (v2) {
        unsigned extra = (unsigned)read_le(buf + pos - 2, 2);
        if (extra < 2)
            return HAND_BACK;
        pos += extra - 2;
    }
    if (pos >= body_end)
        return HAND_BACK;
    Py_ssize_t ncols = buf[pos];
    if (ncols >= 251)
        return HAND_BACK;
    pos += 1;
    Py_ssize_t width = (ncols + 7) / 8;
    Py_ssize_t present_at = pos;
    pos += width;
    Py_ssize_t after_at = pos;
    int update = operation == 1;
    if (update)
        pos += width;
    if (pos > body_end)
        return HAND_BACK;
    int id_width = post_header_len == 6 ? 4 : 6;
    PyObject *table_id = PyLong_FromUnsignedLongLong(read_le(buf + body, id_width));
    if (table_id == NULL)
        return FAILED;
    PyObject *entry = table_for(w, b, table_id);
    Py_DECREF(table_id);
    if (entry == NULL)
        return PyErr_Occurred() ? FAILED : HAND_BACK;
    Py_INCREF(entry);
    int result = FAILED;
    PyObject *counters = NULL, *key = NULL, *schema = NULL, *name = NULL;
    PyObject *present = NULL, *present_after = NULL;
    counters = PyObject_GetAttr(entry, str_counters);
    if (counters == NULL || !PyDict_Check(counters))
        goto done;
    present = PyBytes_FromStringAndSize((const char *)buf + present_at, width);
    if (present == NULL)
        goto done;
    if (update) {
        present_after = PyBytes_FromStringAndSize((const char *)buf + after_at, width);
        if (present_after == NULL)
            goto done;
    }
    else {
        present_after = Py_NewRef(empty_bytes);
    }
    PyObject *type_number = PyLong_FromLong(event_type);
    key = type_number ? PyTuple_Pack(3, type_number, present, present_after) : NULL;
    Py_XDECREF(type_number);
    if (key == NULL)
        goto done;
    PyObject *counter = PyDict_GetItemWithError(counters, key); /* borrowed */
    if (counter == NULL) {
        result = PyErr_Occurred() ? FAILED : HAND_BACK; /* a new shape: Python builds its plan */
        goto done;
    }
    Py_ssize_t rows = 0, reached = -1;
    if (counter == Py_None) {
        /* A shape no count can be made for. */
    }
    else if (Py_IS_TYPE(counter, &RowPlanType)) {
        count_rows((RowPlanObject *)counter, buf, pos, body_end, &rows, &reached);
    }
    else {
        result = HAND_BACK; /* a counter of Python's own (PARTIAL_UPDATE shapes) */
        goto done;
    }
    if (reached != body_end) {
        b->uncounted = 1;
        rows = 0;
    }
    schema = PyObject_GetAttr(entry, str_schema);
    name = schema ? PyObject_GetAttr(entry, str_name) : NULL;
    if (name == NULL)
        goto done;
    if (!PyUnicode_Check(schema) || !PyUnicode_Check(name)) {
        result = HAND_BACK;
        goto done;
    }
    result = add_rows(b, schema, name, operation, rows);
done:
    Py_DECREF(entry);
    Py_XDECREF(counters);
    Py_XDECREF(key);
    Py_XDECREF(present);
    Py_XDECREF(present_after);
    Py_XDECREF(schema);
    Py_XDECREF(name);
    if (result == FAILED && !PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "a table entry without a counters dict");
    return result;
}

static int
new_lists(Building *b)
{
    b->statements = PyList_New(0);
    b->row_events = PyList_New(0);
    b->tables = PyList_New(0);
    b->mapped = PyDict_New();
    return b->gtid && b->statements && b->row_events && b->tables && b->mapped ? TAKEN : FAILED;
}

/* Write a number's decimal digits at out; their count. */
static int
decimal(char *out, uint64_t value)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (int i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    return n;
}

/* Open a transaction at a MariaDB GTID event that BinlogScan._walk would accept as it is. */
static int
open_at_gtid(WalkerObject *w, Building *b, const unsigned char *buf, Py_ssize_t body,
             Py_ssize_t body_end)
{
    if (!w->is_mariadb || body + 19 > body_end)
        return HAND_BACK;
    uint64_t seq = read_le(buf + body, 8);
    uint32_t domain = (uint32_t)read_le(buf + body + 8, 4);
    unsigned flags = buf[body + 12];
    if (flags & (FL_STANDALONE | FL_XA) || seq == 0)
        return HAND_BACK;
    Py_ssize_t pos = body + 13 + (flags & FL_GROUP_COMMIT_ID ? 8 : 0);
    if (pos < body_end) {
        unsigned extra = buf[pos];
        pos += 1 + (extra & FL_EXTRA_MULTI_ENGINE ? 1 : 0);
        pos += extra & FL_EXTRA_ALTER ? 8 : 0;
    }
    if (pos > body_end)
        return HAND_BACK;
    char text[64];
    int length = 0;
    length += decimal(text + length, domain);
    text[length++] = '-';
    length += decimal(text + length, b->server_id);
    text[length++] = '-';
    length += decimal(text + length, seq);
    b->gtid = PyUnicode_FromStringAndSize(text, length);
    return new_lists(b);
}

/* An instance of a named tuple class from its items (references stolen): what tuple.__new__
 * does for a subclass, without the class's Python-level __new__. */
static PyObject *
named_tuple(PyObject *cls, PyObject **items, Py_ssize_t n)
{
    PyObject *made = ((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, n);
#if PY_VERSION_HEX >= 0x030E0000
    /* Python 3.14 caches a tuple's hash in the tuple, -1 until computed: tp_alloc leaves 0,
     * which hash() would return for every record made here. */
    if (made != NULL)
        ((PyTupleObject *)made)->ob_hash = -1;
#endif
    for (Py_ssize_t i = 0; i < n; i++) {
        if (made == NULL || items[i] == NULL) {
            for (Py_ssize_t k = i; k < n; k++)
                Py_XDECREF(items[k]);
            Py_XDECREF(made);
            return NULL;
        }
        PyTuple_SET_ITEM(made, i, items[i]);
    }
    return made;
}

/* Open a transaction at a MySQL GTID event (not anonymous, not tagged): `uuid:number`. */
static int
open_at_mysql_gtid(WalkerObject *w, Building *b, const unsigned char *buf, Py_ssize_t body,
                   Py_ssize_t body_end)
{
    static const char hex[] = "0123456789abcdef";
    if (!w->mysql_gtids || body + MYSQL_GTID_LEN > body_end)
        return HAND_BACK;
    char text[80];
    int length = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            text[length++] = '-';
        text[length++] = hex[buf[body + 1 + i] >> 4];
        text[length++] = hex[buf[body + 1 + i] & 15];
    }
    text[length++] = ':';
    /* Python reads the number unsigned (struct "<Q"). */
    length += decimal(text + length, read_le(buf + body + 17, 8));
    b->gtid = PyUnicode_FromStringAndSize(text, length);
    b->mysql = 1;
    return new_lists(b);
}

/* A Query event inside a MySQL transaction: only its BEGIN, as the Python walk reads it. */
static int
take_begin(WalkerObject *w, Building *b, PyObject *source, Py_ssize_t body, Py_ssize_t body_end)
{
    if (!b->mysql || b->begun)
        return HAND_BACK;
    PyObject *answer = PyObject_CallFunction(w->begin_probe, "Onn", source, body, body_end);
    if (answer == NULL)
        return FAILED;
    int begin = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    if (begin < 0)
        return FAILED;
    b->begun = begin;
    return begin ? TAKEN : HAND_BACK;
}

static PyObject *
finish(WalkerObject *w, Building *b, Py_ssize_t end)
{
    if (PyDict_Update(w->by_id, b->mapped) < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(b->tables);
    PyObject *tables = PyTuple_New(n);
    if (tables == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *counts = PyList_GET_ITEM(b->tables, i);
        PyObject *items[TABLE_CHANGE_FIELDS];
        for (int k = 0; k < TABLE_CHANGE_FIELDS; k++)
            items[k] = Py_NewRef(PyList_GET_ITEM(counts, k));
        PyObject *change = untracked(named_tuple(w->table_change, items, TABLE_CHANGE_FIELDS));
        if (change == NULL) {
            Py_DECREF(tables);
            return NULL;
        }
        PyTuple_SET_ITEM(tables, i, change);
    }
    untracked(tables);
    PyObject *statements = untracked(PyList_AsTuple(b->statements));
    PyObject *row_events = untracked(PyList_AsTuple(b->row_events));
    PyObject *kind = n || PyList_GET_SIZE(b->row_events) ? w->dml : w->other;
    PyObject *flags = b->uncounted ? w->uncounted_flags : w->no_flags;
    PyObject *items[TRANSACTION_FIELDS] = {
        Py_NewRef(b->gtid),
        Py_NewRef(w->file),
        PyLong_FromSsize_t(b->start),
        PyLong_FromSsize_t(end),
        PyLong_FromLongLong(b->timestamp),
        PyLong_FromUnsignedLong(b->server_id),
        Py_NewRef(kind),
        tables,
        statements,
        Py_NewRef(Py_None),
        row_events,
        Py_NewRef(flags),
        PyLong_FromSsize_t(b->events),
    };
    /* Untracked too: all it holds are strings, integers, None, the flag sets the walk shares
     * and the untracked tuples above. */
    return untracked(named_tuple(w->transaction, items, TRANSACTION_FIELDS));
}

/* run(buf, pos, verify, own_positions) -> (transactions, position after them, their events)
 *
 * Walks from pos, a transaction boundary, through as many whole transactions of the common
 * shape as follow (at most MAX_TRANSACTIONS_PER_RUN); stops at the start of the first one it
 * does not take whole.
 */
static PyObject *
Walker_run(WalkerObject *w, PyObject *args)
{
    Py_buffer view;
    PyObject *source;
    Py_ssize_t pos;
    int verify, own_positions;
    if (!PyArg_ParseTuple(args, "Onpp:run", &source, &pos, &verify, &own_positions))
        return NULL;
    if (w->begin_probe == NULL) {
        /* Cleared by the garbage collector (a finalizer in the same cycle can still call). */
        PyErr_SetString(PyExc_ValueError, "a walker cleared by the garbage collector");
        return NULL;
    }
    if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *buf = (const unsigned char *)view.buf;
    Py_ssize_t size = view.len;
    PyObject *found = PyList_New(0);
    Py_ssize_t consumed = 0;
    Building b = {0};
    b.start = -1;
    int status = TAKEN;
    if (found == NULL)
        goto error;
    while (pos >= 0 && pos + HEADER_LEN <= size) {
        const unsigned char *h = buf + pos;
        int event_type = h[4];
        Py_ssize_t event_size = (Py_ssize_t)read_le(h + 9, 4);
        Py_ssize_t end = pos + event_size;
        if (end > size)
            break; /* a partial event: Python says so */
        if (own_positions && (Py_ssize_t)read_le(h + 13, 4) != end)
            break;
        if (event_size < w->header_len + w->crc_len)
            break;
        Py_ssize_t body_end = end - w->crc_len;
        /* No checksum to verify where the format has none (its 4 bytes would be the next
         * event's, or past the buffer). */
        if (verify && w->crc_len &&
            crc32_of(h, body_end - pos) != (uint32_t)read_le(buf + body_end, 4))
            break;
        Py_ssize_t body = pos + w->header_len;
        if (b.start < 0) {
            if (event_type != GTID_EVENT && event_type != MYSQL_GTID_EVENT)
                break;
            b.start = pos;
            b.timestamp = (long long)read_le(h, 4);
            b.server_id = (unsigned long)read_le(h + 5, 4);
            b.events = 0;
            b.uncounted = 0;
            b.mysql = 0;
            b.begun = 0;
            if (event_type == GTID_EVENT)
                status = open_at_gtid(w, &b, buf, body, body_end);
            else
                status = open_at_mysql_gtid(w, &b, buf, body, body_end);
        }
        else {
            switch (event_type) {
            case ANNOTATE_ROWS_EVENT: {
                if (!w->is_mariadb) {
                    status = HAND_BACK;
                    break;
                }
                PyObject *text = PyUnicode_DecodeUTF8((const char *)buf + body, body_end - body,
                                                      "replace");
                status = text && PyList_Append(b.statements, text) == 0 ? TAKEN : FAILED;
                Py_XDECREF(text);
                break;
            }
            case QUERY_EVENT:
                status = take_begin(w, &b, source, body, body_end);
                break;
            case ROWS_QUERY_LOG_EVENT: {
                if (!w->mysql_gtids) {
                    status = HAND_BACK;
                    break;
                }
                /* A (truncated) length byte, then the whole text. */
                Py_ssize_t from = body + 1 < body_end ? body + 1 : body_end;
                PyObject *text = PyUnicode_DecodeUTF8((const char *)buf + from, body_end - from,
                                                      "replace");
                status = text && PyList_Append(b.statements, text) == 0 ? TAKEN : FAILED;
                Py_XDECREF(text);
                break;
            }
            case TABLE_MAP_EVENT:
                status = add_row_event(&b, pos, end);
                if (status == TAKEN)
                    status = take_table_map(w, &b, buf, body, body_end);
                break;
            case 23: case 24: case 25: case 30: case 31: case 32: {
                int v2 = event_type >= 30;
                int operation = event_type - (v2 ? 30 : 23);
                status = add_row_event(&b, pos, end);
                if (status == TAKEN)
                    status = take_rows(w, &b, buf, body, body_end, event_type, operation, v2);
                break;
            }
            case XID_EVENT:
                break;
            default:
                status = HAND_BACK;
            }
        }
        if (status == FAILED)
            goto error;
        if (status == HAND_BACK)
            break;
        b.events++;
        pos = end;
        if (event_type == XID_EVENT) {
            PyObject *transaction = finish(w, &b, end);
            if (transaction == NULL)
                goto error;
            int appended = PyList_Append(found, transaction);
            Py_DECREF(transaction);
            if (appended < 0)
                goto error;
            consumed += b.events;
            building_clear(&b);
            b.start = -1;
            if (PyList_GET_SIZE(found) >= MAX_TRANSACTIONS_PER_RUN)
                break;
        }
    }
    /* An unfinished transaction goes back to Python whole, from its first event. */
    if (b.start >= 0)
        pos = b.start;
    building_clear(&b);
    PyBuffer_Release(&view);
    PyObject *result = Py_BuildValue("(Nnn)", found, pos, consumed);
    return result;
error:
    building_clear(&b);
    Py_XDECREF(found);
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef Walker_methods[] = {
    {"run", (PyCFunction)Walker_run, METH_VARARGS,
     "run(buf, pos, verify, own_positions) -> (transactions, position, events)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject WalkerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "drkit.binlog._scanner.Walker",
    .tp_basicsize = sizeof(WalkerObject),
    .tp_dealloc = (destructor)Walker_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Walker_traverse,
    .tp_clear = (inquiry)Walker_clear,
    .tp_doc = "The compiled walk over one file's common transactions.",
    .tp_methods = Walker_methods,
    .tp_new = Walker_new,
};

static PyObject *
scanner_crc32(PyObject *module, PyObject *args)
{
    Py_buffer view;
    int table_only = 0;
    if (!PyArg_ParseTuple(args, "y*|p:crc32", &view, &table_only))
        return NULL;
    zlib_crc32_fn found = zlib_crc32;
    if (table_only)
        zlib_crc32 = NULL; /* the table, as where no zlib is found (the GIL is held) */
    uint32_t crc = crc32_of((const unsigned char *)view.buf, view.len);
    zlib_crc32 = found;
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(crc);
}

static PyMethodDef module_methods[] = {
    {"crc32", scanner_crc32, METH_VARARGS,
     "crc32(data, table_only=False) -> zlib.crc32(data), as the walk computes it"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scanner_module = {
    PyModuleDef_HEAD_INIT, "drkit.binlog._scanner",
    "The compiled event walk and row counting of drkit.binlog.scan.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__scanner(void)
{
    crc_init();
    find_zlib();
    str_schema = PyUnicode_InternFromString("schema");
    str_name = PyUnicode_InternFromString("name");
    str_counters = PyUnicode_InternFromString("counters");
    empty_bytes = PyBytes_FromStringAndSize("", 0);
    if (!str_schema || !str_name || !str_counters || !empty_bytes)
        return NULL;
    if (PyType_Ready(&RowPlanType) < 0 || PyType_Ready(&WalkerType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&scanner_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "RowPlan", (PyObject *)&RowPlanType) < 0 ||
        PyModule_AddObjectRef(module, "Walker", (PyObject *)&WalkerType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
