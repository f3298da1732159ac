import { useQuery } from '@tanstack/react-query'
import { apiGet } from '../api'

export function usePenaltyLog(organizationId) {
  return useQuery({
    queryKey: ['penalties', organizationId],
    queryFn: () => apiGet(`/penalties/organization/${organizationId}`)
  })
}
