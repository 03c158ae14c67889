/** One filter: a text or date input, or (with `options`) a select whose first choice is "any". */
export interface Filter {
  name: string;
  label: string;
  value?: string;
  placeholder?: string;
  type?: 'text' | 'date';
  options?: readonly string[];
  required?: boolean;
}

/** A GET form of labelled filters: the query string is the state, so it works without JavaScript. */
export function FilterForm({ filters, testId, submit = 'Filter' }: { filters: Filter[]; testId: string; submit?: string }) {
  return (
    <form className="card filters" method="get" data-testid={testId}>
      {filters.map((f) => (
        <label key={f.name}>
          {f.label}
          {f.options ? (
            <select name={f.name} defaultValue={f.value ?? ''}>
              <option value="">any</option>
              {f.options.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          ) : (
            <input name={f.name} type={f.type === 'date' ? 'date' : undefined} defaultValue={f.value ?? ''} placeholder={f.placeholder} required={f.required} />
          )}
        </label>
      ))}
      <button type="submit" className="primary">
        {submit}
      </button>
    </form>
  );
}
