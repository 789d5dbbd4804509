import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { getJson, modelPath, withQuery } from '../api';
import type { Page, Version } from '../registry-types';
import { sortVersions, stageSlots, tagLabels, type VersionSortKey } from '../stage-board';
import { useStages } from '../queries';
import { Empty, QueryView } from '../states';

const COLUMNS: { key: VersionSortKey; label: string }[] = [
  { key: 'version', label: 'Version' },
  { key: 'status', label: 'Status' },
  { key: 'stage', label: 'Stage' },
  { key: 'createdAt', label: 'Registered' },
];

/** One model: the stage board (staging, canary with its traffic, production) and its versions. */
export function ModelPage() {
  const name = useParams().name ?? '';
  const stages = useStages(name);
  return (
    <main>
      <h1>{name}</h1>
      <section aria-labelledby="stage-board">
        <h2 id="stage-board">Stages</h2>
        <QueryView query={stages} what="stages">
          {(data) => (
            <ol className="stage-board">
              {stageSlots(data).map((slot) => (
                <li key={slot.stage} className={slot.version ? 'held' : 'empty'} aria-label={slot.stage}>
                  <h3>{slot.stage}</h3>
                  {slot.version ? (
                    <>
                      <p className="version">{slot.version}</p>
                      {slot.traffic && <p>{slot.traffic}</p>}
                      <p className="meta">
                        by {slot.by}, {new Date(slot.since!).toLocaleString()}
                      </p>
                    </>
                  ) : (
                    <p className="meta">no version</p>
                  )}
                </li>
              ))}
            </ol>
          )}
        </QueryView>
      </section>
      <Versions model={name} />
    </main>
  );
}

/** The model's versions, a page at a time (newest first from the registry), sortable by column within what is loaded. */
function Versions({ model }: { model: string }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const [sort, setSort] = useState<{ key: VersionSortKey; direction: 'ascending' | 'descending' }>({ key: 'createdAt', direction: 'descending' });
  const cursor = cursors.at(-1);
  const versions = useQuery({
    queryKey: ['versions', model, cursor],
    queryFn: () => getJson<Page<Version>>(withQuery(modelPath(model, 'versions'), { limit: 50, cursor })),
  });
  const toggle = (key: VersionSortKey) => setSort((current) => ({ key, direction: current.key === key && current.direction === 'descending' ? 'ascending' : 'descending' }));

  return (
    <section aria-labelledby="versions">
      <h2 id="versions">Versions</h2>
      <QueryView query={versions} what="versions">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No versions yet.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    {COLUMNS.map((column) => (
                      <th key={column.key} scope="col" aria-sort={sort.key === column.key ? sort.direction : 'none'}>
                        <button type="button" onClick={() => toggle(column.key)}>
                          {column.label}
                        </button>
                      </th>
                    ))}
                    <th scope="col">Tags</th>
                    <th scope="col">Aliases</th>
                  </tr>
                </thead>
                <tbody>
                  {sortVersions(page.items, sort.key, sort.direction).map((version) => (
                    <tr key={version.version}>
                      <td>
                        <Link to={`/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version.version)}`}>{version.version}</Link>
                      </td>
                      <td>{version.status}</td>
                      <td>{version.stage}</td>
                      <td>{new Date(version.createdAt).toLocaleString()}</td>
                      <td>{tagLabels(version.tags).join(', ')}</td>
                      <td>{version.aliases.join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <nav aria-label="version pages" className="pager">
                <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((all) => all.slice(0, -1))}>
                  Newer
                </button>
                <button type="button" disabled={!page.nextCursor} onClick={() => setCursors((all) => [...all, page.nextCursor!])}>
                  Older
                </button>
              </nav>
            </>
          )
        }
      </QueryView>
    </section>
  );
}
