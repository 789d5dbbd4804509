import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { downloadFile, getJson, modelPath } from '../api';
import type { VersionDetail } from '../registry-types';
import { tagLabels } from '../stage-board';
import { Empty, QueryView } from '../states';
import { describeTensor, entriesOf, fileUrl, formatBytes } from '../version-facts';

/** Everything a version records: files with their hashes, signature, metrics, params, environment, source, schema, datasets. */
export function VersionPage() {
  const { name = '', version = '' } = useParams();
  const detail = useQuery({ queryKey: ['version', name, version], queryFn: () => getJson<VersionDetail>(modelPath(name, 'versions', version)) });
  return (
    <main>
      <p className="crumbs">
        <Link to="/models">Models</Link> / <Link to={`/models/${encodeURIComponent(name)}`}>{name}</Link>
      </p>
      <h1>
        {name}@{version}
      </h1>
      <QueryView query={detail} what="the version">
        {(data) => <VersionFacts version={data} />}
      </QueryView>
    </main>
  );
}

function VersionFacts({ version }: { version: VersionDetail }) {
  const [downloadProblem, setDownloadProblem] = useState<string | null>(null);
  const download = (path: string) =>
    void downloadFile(fileUrl(version.model, version.version, path), path.split('/').at(-1)!).then(
      () => setDownloadProblem(null),
      (error: Error) => setDownloadProblem(`${path}: ${error.message}`),
    );
  const source = entriesOf(version.source);
  return (
    <>
      <dl className="facts">
        <dt>Status</dt>
        <dd>{version.status}</dd>
        <dt>Stage</dt>
        <dd>{version.stage}</dd>
        <dt>Task</dt>
        <dd>{version.task}</dd>
        <dt>Registered</dt>
        <dd>
          {new Date(version.createdAt).toLocaleString()} by {version.createdBy}
        </dd>
        <dt>Signature</dt>
        <dd>{version.signature ? `signed by ${version.signature.signer} (key ${version.signature.fingerprint.slice(0, 16)}…)` : 'not signed'}</dd>
        <dt>Tags</dt>
        <dd>{tagLabels(version.tags).join(', ') || '—'}</dd>
        <dt>Aliases</dt>
        <dd>{version.aliases.join(', ') || '—'}</dd>
        <dt>Manifest</dt>
        <dd>
          <code>{version.manifestDigest ?? '—'}</code>
        </dd>
      </dl>

      <section aria-labelledby="files">
        <h2 id="files">Files</h2>
        {version.files.length === 0 ? (
          <Empty>No files uploaded yet.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
                <th scope="col">
                  <span className="visually-hidden">Download</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {version.files.map((file) => (
                <tr key={file.path}>
                  <td>{file.path}</td>
                  <td>{formatBytes(file.size)}</td>
                  <td>
                    <code className="hash">{file.sha256}</code>
                  </td>
                  <td>
                    <button type="button" onClick={() => download(file.path)} aria-label={`Download ${file.path}`}>
                      Download
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {downloadProblem && (
          <p className="error" role="alert">
            Could not download {downloadProblem}
          </p>
        )}
      </section>

      <section aria-labelledby="schema">
        <h2 id="schema">Schema</h2>
        {version.schema ? (
          <>
            <p className="meta">{version.schemaSource === 'inferred' ? 'inferred from the model by its registration gate' : 'declared at registration'}</p>
            <ul>
              {version.schema.inputs.map((tensor) => (
                <li key={`in-${tensor.name}`}>input {describeTensor(tensor)}</li>
              ))}
              {version.schema.outputs.map((tensor) => (
                <li key={`out-${tensor.name}`}>output {describeTensor(tensor)}</li>
              ))}
            </ul>
          </>
        ) : (
          <Empty>No schema: none was declared, and no gate has inferred one yet.</Empty>
        )}
      </section>

      <section aria-labelledby="datasets">
        <h2 id="datasets">Datasets</h2>
        {version.datasets.length === 0 ? (
          <Empty>No datasets recorded.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Dataset</th>
                <th scope="col">Role</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {version.datasets.map((dataset) => (
                <tr key={`${dataset.name}@${dataset.version}/${dataset.role}`}>
                  <td>
                    {dataset.name}@{dataset.version}
                  </td>
                  <td>{dataset.role}</td>
                  <td>{dataset.size === null ? '—' : formatBytes(dataset.size)}</td>
                  <td>
                    <code className="hash">{dataset.sha256 ?? dataset.uri ?? '—'}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="lineage-facts">
        <h2 id="lineage-facts">Lineage and training</h2>
        <dl className="facts">
          <dt>Parents</dt>
          <dd>
            {version.parents.length === 0
              ? '—'
              : version.parents.map((parent) => (
                  <span key={`${parent.model}@${parent.version}`}>
                    <Link to={`/models/${encodeURIComponent(parent.model)}/versions/${encodeURIComponent(parent.version)}`}>
                      {parent.model}@{parent.version}
                    </Link>{' '}
                    ({parent.relation}){' '}
                  </span>
                ))}
          </dd>
          {source.length === 0 ? (
            <>
              <dt>Source</dt>
              <dd>—</dd>
            </>
          ) : (
            source.map(([key, value]) => (
              <div key={`source-${key}`} className="fact">
                <dt>source {key}</dt>
                <dd>{value}</dd>
              </div>
            ))
          )}
        </dl>
        <FactTable caption="Metrics" entries={entriesOf(version.metrics)} />
        <FactTable caption="Training config" entries={entriesOf(version.params)} />
        <FactTable caption="Environment" entries={entriesOf(version.environment)} />
      </section>
    </>
  );
}

function FactTable({ caption, entries }: { caption: string; entries: [string, string][] }) {
  return (
    <table className="fact-table">
      <caption>{caption}</caption>
      <tbody>
        {entries.length === 0 ? (
          <tr>
            <td>none recorded</td>
          </tr>
        ) : (
          entries.map(([key, value]) => (
            <tr key={key}>
              <th scope="row">{key}</th>
              <td>{value}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
