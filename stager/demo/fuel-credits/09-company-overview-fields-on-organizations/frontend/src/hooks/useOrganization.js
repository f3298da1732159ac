import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { apiGet, apiPatch } from '../api'

export function useOrganization(id) {
  return useQuery({
    queryKey: ['organization', id],
    queryFn: () => apiGet(`/organizations/${id}`)
  })
}

export function useUpdateCompanyOverview(id) {
  const queryClient = useQueryClient()
  return useMutation({
    mutationFn: (changes) => apiPatch(`/organizations/${id}/company-overview`, changes),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['organization', id] })
  })
}
