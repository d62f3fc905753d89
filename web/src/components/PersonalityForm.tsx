import { useState, type FormEvent } from 'react';
import type { NewPersonalityJson, PersonalityJson } from '../../../src/client/chatify-client.js';
import { ChatifyError } from '../../../src/client/chatify-client.js';
import { api, describeError } from '../api.js';

type Field =
  | 'name' | 'title' | 'description' | 'category' | 'personalityPrompt' | 'welcomeMessage'
  | 'model' | 'temperature' | 'maxTokens' | 'presencePenalty' | 'frequencyPenalty' | 'tags';

type Values = Record<Field, string> & { isPublic: boolean };
type Errors = Partial<Record<Field | 'form', string>>;

const NUMBER_RULES: Partial<Record<Field, { min: number; max: number; integer?: boolean }>> = {
  temperature: { min: 0, max: 2 },
  maxTokens: { min: 1, max: 128_000, integer: true },
  presencePenalty: { min: -2, max: 2 },
  frequencyPenalty: { min: -2, max: 2 },
};

const LABELS: Record<Field, string> = {
  name: 'Name',
  title: 'Title',
  description: 'Description',
  category: 'Category',
  personalityPrompt: 'Personality prompt',
  welcomeMessage: 'Welcome message',
  model: 'Model',
  temperature: 'Temperature',
  maxTokens: 'Max tokens',
  presencePenalty: 'Presence penalty',
  frequencyPenalty: 'Frequency penalty',
  tags: 'Tags (comma-separated)',
};

const MULTILINE: Field[] = ['description', 'personalityPrompt', 'welcomeMessage'];

function valuesOf(p: PersonalityJson | undefined): Values {
  return {
    name: p?.name ?? '',
    title: p?.title ?? '',
    description: p?.description ?? '',
    category: p?.category ?? 'general',
    personalityPrompt: p?.personalityPrompt ?? '',
    welcomeMessage: p?.welcomeMessage ?? '',
    model: p?.model ?? 'gpt-4o-mini',
    temperature: String(p?.temperature ?? 0.9),
    maxTokens: String(p?.maxTokens ?? 50),
    presencePenalty: String(p?.presencePenalty ?? 0.6),
    frequencyPenalty: String(p?.frequencyPenalty ?? 0.6),
    tags: (p?.tags ?? []).join(', '),
    isPublic: p?.isPublic ?? true,
  };
}

/** Checks what the browser can check; the server checks again and its answer lands on the same fields. */
function validate(v: Values): Errors {
  const errors: Errors = {};
  if (v.name.trim() === '') errors.name = 'Give the personality a name.';
  else if (!/[A-Za-z0-9]/.test(v.name)) errors.name = 'The name needs at least one letter or digit.';
  if (v.personalityPrompt.trim() === '') errors.personalityPrompt = 'Describe how this personality behaves.';
  else if ([...v.personalityPrompt].length < 10) errors.personalityPrompt = 'Use at least 10 characters.';
  for (const [field, rule] of Object.entries(NUMBER_RULES) as [Field, { min: number; max: number; integer?: boolean }][]) {
    const n = Number(v[field]);
    if (v[field].trim() === '' || Number.isNaN(n) || n < rule.min || n > rule.max || (rule.integer && !Number.isInteger(n))) {
      errors[field] = `Enter ${rule.integer ? 'a whole number' : 'a number'} from ${rule.min} to ${rule.max}.`;
    }
  }
  return errors;
}

function toBody(v: Values): NewPersonalityJson {
  return {
    name: v.name.trim(),
    title: v.title.trim() || v.name.trim(),
    description: v.description,
    category: v.category.trim(),
    personalityPrompt: v.personalityPrompt,
    welcomeMessage: v.welcomeMessage,
    model: v.model.trim(),
    temperature: Number(v.temperature),
    maxTokens: Number(v.maxTokens),
    presencePenalty: Number(v.presencePenalty),
    frequencyPenalty: Number(v.frequencyPenalty),
    tags: v.tags.split(',').map((t) => t.trim()).filter(Boolean),
    isPublic: v.isPublic,
  };
}

/** "body.temperature must be <= 2." → the temperature field. */
function fieldOfServerError(error: ChatifyError): Field | 'form' {
  const match = /^body\.(\w+)/.exec(error.message);
  if (error.code === 'personality_exists' || error.code === 'invalid_name') return 'name';
  return match && match[1]! in LABELS ? (match[1] as Field) : 'form';
}

export function PersonalityForm(props: {
  editing?: PersonalityJson;
  onSaved: (saved: PersonalityJson) => void;
  onCancel: () => void;
}) {
  const [values, setValues] = useState(() => valuesOf(props.editing));
  const [errors, setErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const formId = props.editing ? `edit-${props.editing.id}` : 'new-personality';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validate(values);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setSaving(true);
    try {
      const body = toBody(values);
      const saved = props.editing ? await api.updatePersonality(props.editing.id, body) : await api.createPersonality(body);
      props.onSaved(saved);
    } catch (error) {
      const field = error instanceof ChatifyError ? fieldOfServerError(error) : 'form';
      setErrors({ [field]: error instanceof ChatifyError && field !== 'form' ? error.message : describeError(error) });
    } finally {
      setSaving(false);
    }
  };

  const field = (name: Field) => {
    const id = `${formId}-${name}`;
    const error = errors[name];
    const common = {
      id,
      value: values[name],
      onChange: (e: { target: { value: string } }) => setValues((v) => ({ ...v, [name]: e.target.value })),
      'aria-invalid': error ? true : undefined,
      'aria-describedby': error ? `${id}-error` : undefined,
    };
    return (
      <div className={`field ${MULTILINE.includes(name) ? 'wide' : ''}`} key={name}>
        <label htmlFor={id}>{LABELS[name]}</label>
        {MULTILINE.includes(name) ? <textarea rows={name === 'personalityPrompt' ? 5 : 2} {...common} /> : <input {...common} />}
        {error && (
          <p className="field-error" id={`${id}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  };

  return (
    <form className="card personality-form" onSubmit={submit} noValidate aria-label={props.editing ? `Edit ${props.editing.name}` : 'New personality'}>
      <h3>{props.editing ? `Edit ${props.editing.name}` : 'New personality'}</h3>
      <div className="fields">
        {(Object.keys(LABELS) as Field[]).map(field)}
        <div className="field">
          <label className="checkbox">
            <input
              type="checkbox"
              checked={values.isPublic}
              onChange={(e) => setValues((v) => ({ ...v, isPublic: e.target.checked }))}
            />
            Public
          </label>
        </div>
      </div>
      {errors.form && (
        <p role="alert" className="field-error">
          {errors.form}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={saving}>
          {props.editing ? 'Save changes' : 'Create personality'}
        </button>
        <button type="button" className="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
