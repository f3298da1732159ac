import { BrowserRouter, Route, Routes } from 'react-router-dom'
import { OrganizationDetails } from './views/Organizations/OrganizationDetails'
import { TransferList } from './views/Transfers/TransferList'

export function App() {
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/organizations/:id" element={<OrganizationDetails />} />
        <Route path="/organizations/:id/transfers" element={<TransferList />} />
      </Routes>
    </BrowserRouter>
  )
}
