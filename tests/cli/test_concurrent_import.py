"""Two imports of the same new households at once.

On PostgreSQL the second import's rows met the first one's when the first committed:
the command ended in a 60-line traceback of psycopg's UniqueViolation, exit 1, with the
driver's DETAIL quoting the household number.  Nothing was written (one transaction),
but nothing said so.  Now one line says that the writes conflict with what was written
meanwhile, names the constraint, says that nothing was kept and to run it again; exit 8
(conflict).  SQLite writes one at a time: the second import waits and then updates.
"""

from __future__ import annotations

import threading
import time

from tests.cli.test_transfer import HOUSEHOLDS


def test_an_import_that_meets_another_writing_the_same_households_is_exit_8(cli, backend, engine, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.households import upsert_households

    path = tmp_path / "households.csv"
    path.write_text(HOUSEHOLDS, encoding="utf-8")
    other = make_sessionmaker(engine)()
    # another import of H001, not committed yet (on SQLite it holds the write lock)
    upsert_households(other, gpd.GeoDataFrame({"household_no": ["H001"], "head_name": ["杨大山"]},
                                              geometry=[Point(109.17, 27.36)], crs=4326))
    got = {}
    cmd = threading.Thread(target=lambda: got.update(result=cli("import", "households", path)))
    cmd.start()
    time.sleep(2.0)  # the command waits on the other writer: its H001 (PostGIS), the lock (SQLite)
    assert cmd.is_alive()
    other.commit()
    other.close()
    cmd.join(60)
    code, out, err = got["result"]
    if backend == "postgis":
        assert code == 8, err
        assert "Traceback" not in err and "DETAIL" not in err and "H001" not in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: the database refused the command's writes: they conflict with what was "
                              "written while it ran (constraint uq_households_household_no)"), err
        assert "rolled back: run the command again" in err
        assert _count_households(engine) == 1  # the other's; nothing of the command
        code, out, err = cli("import", "households", path)  # run again, it goes in
    assert code == 0 and "2 added" in out and "1 updated" in out, err
    assert _count_households(engine) == 3


def _count_households(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM households")).scalar_one()
