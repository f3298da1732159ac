import { useParams } from 'react-router-dom'
import { usePenaltyLog } from '../../hooks/usePenaltyLog'

export function PenaltyLog() {
  const { id } = useParams()
  const { data, isLoading } = usePenaltyLog(id)

  if (isLoading) return <p>Loading…</p>
  if (!data.items.length) return <p>No penalties recorded.</p>

  return (
    <section>
      <h1>Penalty log</h1>
      <ul>
        {data.items.map((p) => (
          <li key={p.id}>{p.type}: ${p.amount}</li>
        ))}
      </ul>
      <p>Total: ${data.total}</p>
    </section>
  )
}
