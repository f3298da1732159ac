import { useQuery } from '@tanstack/react-query'
import { apiGet } from '../api'

export function useOrganization(id) {
  return useQuery({
    queryKey: ['organization', id],
    queryFn: () => apiGet(`/organizations/${id}`)
  })
}
