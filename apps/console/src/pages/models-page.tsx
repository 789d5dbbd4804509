import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { getJson, withQuery } from '../api';
import { useStages } from '../queries';
import type { Model, Page } from '../registry-types';
import { stageSlots } from '../stage-board';
import { Empty, QueryView } from '../states';

/** Every model, searchable by name or description, each with the versions holding its stages. */
export function ModelsPage() {
  const [params, setParams] = useSearchParams();
  const search = params.get('search') ?? '';
  // While a new search loads, the last answer stays on screen rather than flashing to a loading state per keystroke.
  const models = useQuery({
    queryKey: ['models', search],
    queryFn: () => getJson<Page<Model>>(withQuery('/v1/models', { search, limit: 100 })),
    placeholderData: keepPreviousData,
  });

  return (
    <main>
      <h1>Models</h1>
      <form role="search" onSubmit={(event) => event.preventDefault()}>
        <label htmlFor="model-search">Search models</label>
        <input
          id="model-search"
          type="search"
          value={search}
          placeholder="name or description"
          onChange={(event) => setParams(event.target.value ? { search: event.target.value } : {}, { replace: true })}
        />
      </form>
      <QueryView query={models} what="models">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>{search ? `No model matches “${search}”.` : 'No models yet: register one with gatehouse register.'}</Empty>
          ) : (
            <ul className="cards" aria-label="models">
              {page.items.map((model) => (
                <ModelCard key={model.name} model={model} />
              ))}
            </ul>
          )
        }
      </QueryView>
    </main>
  );
}

function ModelCard({ model }: { model: Model }) {
  const stages = useStages(model.name);
  return (
    <li className="card">
      <h2>
        <Link to={`/models/${encodeURIComponent(model.name)}`}>{model.name}</Link>
      </h2>
      {model.description && <p>{model.description}</p>}
      {model.tags.length > 0 && (
        <ul className="tags" aria-label="tags">
          {model.tags.map((tag) => (
            <li key={tag}>{tag}</li>
          ))}
        </ul>
      )}
      <QueryView query={stages} what="stages">
        {(data) => (
          <dl className="stage-summary">
            {stageSlots(data).map((slot) => (
              <div key={slot.stage}>
                <dt>{slot.stage}</dt>
                <dd>{slot.version ? `${slot.version}${slot.traffic ? ` · ${slot.traffic}` : ''}` : '—'}</dd>
              </div>
            ))}
          </dl>
        )}
      </QueryView>
    </li>
  );
}
