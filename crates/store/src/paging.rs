//! Pages as SQL reads them: the offset, the extra row that tells whether
//! another page follows, and the one reader of every list kept in id order
//! (a ticket's replies and events, the accounts).

/// How many rows come before `page`, as SQL's OFFSET takes it.
pub(crate) fn page_offset(page: domain::PageRequest) -> i64 {
    i64::try_from(page.offset()).unwrap_or(i64::MAX)
}

/// A page's rows and one more, which tells whether another page follows.
pub(crate) fn rows_to_read(page: domain::PageRequest) -> i64 {
    i64::from(page.rows_to_read())
}

/// The id a cursor's page of an id-ordered list starts after.
pub(crate) fn after_id(page: domain::PageRequest) -> Option<i64> {
    page.after().map(|position| position.id)
}

/// A `COUNT(*)` result as the page's total.
pub(crate) fn total(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// The page `$page` (a `domain::PageRequest`) of the rows the boxed query
/// `$visible()` selects, in the order of the id column `$id` (oldest
/// first; `$id desc`: newest first), as `$columns` read into `$row`s, each
/// converted to its `domain` record, and counted when the page asks: a
/// numbered page skips the rows before it, a cursor's page starts after
/// its row. `$id_of` names a record's position. (A macro, as the lists'
/// queries differ in type, table by table.)
macro_rules! page_in_id_order {
    ($conn:expr, $page:expr, $visible:expr, $columns:expr => $row:ty, $id:expr, $id_of:expr $(,)?) => {
        $crate::paging::page_in_id_order!(@ asc gt, $conn, $page, $visible, $columns => $row, $id, $id_of)
    };
    ($conn:expr, $page:expr, $visible:expr, $columns:expr => $row:ty, $id:expr, desc, $id_of:expr $(,)?) => {
        $crate::paging::page_in_id_order!(@ desc lt, $conn, $page, $visible, $columns => $row, $id, $id_of)
    };
    (@ $order:ident $beyond:ident, $conn:expr, $page:expr, $visible:expr, $columns:expr => $row:ty, $id:expr, $id_of:expr) => {{
        let page: domain::PageRequest = $page;
        let visible = $visible;
        let total = match page.counts() {
            true => Some($crate::paging::total(
                visible().count().get_result(&mut *$conn)?,
            )),
            false => None,
        };
        let mut query = visible()
            .select($columns)
            .order_by($id.$order())
            .limit($crate::paging::rows_to_read(page))
            .offset($crate::paging::page_offset(page));
        if let Some(after) = $crate::paging::after_id(page) {
            query = query.filter($id.$beyond(after));
        }
        let rows: Vec<$row> = query.load(&mut *$conn)?;
        let id_of = $id_of;
        domain::Page::of_rows(
            $crate::rows::convert_all(rows)?,
            page,
            |record| domain::Position::after_id(id_of(record)),
            total,
        )
    }};
}
pub(crate) use page_in_id_order;
