const LABELS = {
  credits_offset_a: 'Credits offset (line A)',
  credits_offset_b: 'Credits offset (line B)',
  credits_offset_c: 'Credits offset (line C)',
  total_payable: 'Total payable'
}

export function HistoricalSnapshot({ values }) {
  const entries = Object.entries(values ?? {}).filter(([key]) => key in LABELS)
  if (!entries.length) return null

  return (
    <aside aria-label="Values from the legacy system">
      <h2>As reported in the legacy system</h2>
      <dl>
        {entries.map(([key, value]) => (
          <div key={key}>
            <dt>{LABELS[key]}</dt>
            <dd>{value ?? '—'}</dd>
          </div>
        ))}
      </dl>
    </aside>
  )
}
