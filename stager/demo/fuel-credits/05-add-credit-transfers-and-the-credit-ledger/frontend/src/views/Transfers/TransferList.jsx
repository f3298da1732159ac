import { useQuery } from '@tanstack/react-query'
import { useParams } from 'react-router-dom'
import { apiGet } from '../../api'

export function TransferList() {
  const { id } = useParams()
  const { data: transfers = [] } = useQuery({
    queryKey: ['transfers', id],
    queryFn: () => apiGet(`/transfers/organization/${id}`)
  })

  return (
    <table>
      <thead>
        <tr><th>Transfer</th><th>Credits</th><th>Total value</th></tr>
      </thead>
      <tbody>
        {transfers.map((t) => (
          <tr key={t.id}><td>{t.id}</td><td>{t.quantity}</td><td>${t.total_value}</td></tr>
        ))}
      </tbody>
    </table>
  )
}
